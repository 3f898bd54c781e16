import type { Deps } from '../deps.js';
import { RolloutError } from '../errors.js';
import { createCanaryProbes } from '../health/canary-probes.js';
import type { Inventory } from '../inventory/types.js';
import type { RunOptions } from '../orchestrator/types.js';
import type { Kv, Lease } from '../kv/kv.js';
import { createRestartSlots } from '../coordination/semaphore.js';
import { realSleep } from '../deps.js';

/** --max-concurrency over run.maxConcurrentRestarts; undefined: no fleet-wide cap. */
export function maxConcurrency(
  args: { readonly 'max-concurrency'?: number | undefined },
  inventory: Inventory,
): number | undefined {
  const flag = args['max-concurrency'];
  if (flag !== undefined && (!Number.isInteger(flag) || flag < 1)) {
    throw new RolloutError(
      'E_USAGE',
      `--max-concurrency: expected a positive whole number of hosts, got ${String(flag)}`,
      { where: '--max-concurrency' },
    );
  }
  return flag ?? inventory.run.maxConcurrentRestarts;
}

/** The adapters of the fleet-wide cap and the canary gate: slots on the run's lease, so a dead run frees them. */
export function guardDeps(
  kv: Kv,
  lease: Lease,
  secrets: { readonly env: Readonly<Record<string, string | undefined>>; readonly passwordEnv: string | undefined },
): Pick<Deps, 'slots' | 'canary'> {
  return {
    slots: createRestartSlots(kv, { lease, sleep: realSleep }),
    canary: createCanaryProbes({ env: secrets.env, secretEnv: [secrets.passwordEnv] }),
  };
}

export function guardOptions(
  args: { readonly 'max-concurrency'?: number | undefined; readonly 'skip-canary-gate'?: boolean | undefined },
  inventory: Inventory,
  who: { readonly user: string; readonly machine: string; readonly pid: number },
): Pick<RunOptions, 'restartSlots' | 'canaryGate'> {
  const limit = maxConcurrency(args, inventory);
  return {
    ...(limit === undefined
      ? {}
      : { restartSlots: { limit, scope: inventory.run.restartSlotScope ?? 'datacenter-service', who } }),
    canaryGate: { skip: args['skip-canary-gate'] === true },
  };
}
