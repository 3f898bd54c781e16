import type { Io } from '../cli/io.js';
import { EXIT } from '../errors.js';
import { isBlocked, offlineSnapshot, planRollout, poolKeysFor } from '../planner/plan.js';
import { selectClusters } from '../planner/select.js';
import type { Selection } from '../planner/types.js';
import { planToJson } from '../report/plan-json.js';
import { renderPlanText } from '../report/plan-text.js';
import { checkReleaseArg, checkReleaseTemplates } from './release-arg.js';
import { connectPool, loadFor, parseBatchMode, parseRampArg, type CommonArgs } from './context.js';

export interface PlanArgs extends CommonArgs {
  /** Positional `plan <cluster> <dc>`: the same selection as `restart <cluster> <dc>`. */
  readonly cluster?: unknown;
  readonly dc?: unknown;
  readonly dcs: readonly string[];
  readonly clusters: readonly string[];
  readonly emergency?: boolean;
  readonly offline?: boolean;
  readonly 'batch-size'?: string | undefined;
  readonly 'batch-mode'?: string | undefined;
  readonly release?: string | undefined;
  readonly 'skip-canary-gate'?: boolean | undefined;
}

/** `rollout plan`: the batches and their arithmetic; writes nothing. Exit 4 when a cluster is blocked. */
export async function planCommand(args: PlanArgs, io: Io): Promise<number> {
  const inventory = loadFor(args, io);
  const positionalCluster = typeof args.cluster === 'string' ? args.cluster : undefined;
  const positionalDc = typeof args.dc === 'string' ? args.dc : undefined;
  const selection: Selection =
    positionalCluster !== undefined && positionalDc !== undefined
      ? { kind: 'restart', cluster: positionalCluster, dc: positionalDc }
      : {
          kind: 'sync',
          dcs: args.dcs,
          clusters: positionalCluster !== undefined ? [...args.clusters, positionalCluster] : args.clusters,
        };
  const clusters = selectClusters(inventory, selection);
  const batchSize = args['batch-size'] === undefined ? undefined : parseRampArg('--batch-size', args['batch-size']);
  // Why: plan refuses what sync would refuse, so a template needing --release is caught before the run.
  checkReleaseTemplates(clusters, {
    release: checkReleaseArg(args.release),
    emergency: args.emergency === true,
    skipGate: args['skip-canary-gate'] === true,
  });
  let snapshot;
  if (args.offline) {
    snapshot = offlineSnapshot(inventory, clusters);
  } else {
    const connection = await connectPool(inventory, args, io);
    try {
      snapshot = await connection.pool.read(poolKeysFor(clusters));
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
  const plan = planRollout({
    inventory,
    selection,
    snapshot,
    options: {
      emergency: args.emergency === true,
      batchSize,
      maxBatch: inventory.run.maxConcurrentRestarts,
      batchMode: parseBatchMode(args['batch-mode']),
    },
  });
  io.stdout.write(args.json ? `${JSON.stringify(planToJson(plan))}\n` : renderPlanText(plan));
  return isBlocked(plan) ? EXIT.capacity : EXIT.ok;
}
