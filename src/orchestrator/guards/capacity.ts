import type { InventoryCluster } from '../../inventory/types.js';
import { guardArithmetic } from '../../planner/guard.js';
import { poolKeysOf } from '../../planner/plan.js';
import { hostEntries, pooledEverywhere } from '../../pool/host-entry.js';
import type { PoolSnapshot } from '../../pool/types.js';

export interface CapacityCheck {
  readonly ok: boolean;
  readonly pooled: number;
  readonly required: number;
  readonly wanted: number;
  /** How many `yes` hosts may be depooled now. */
  readonly maxDepool: number;
  readonly text: string;
}

/**
 * The planner's capacity guard on fresh pool state: may `wanted` more hosts be depooled now?
 * `notServing` names hosts pooled in etcd that the load balancers do not serve yet (repool not confirmed).
 */
export function checkCapacity(
  cluster: InventoryCluster,
  snapshot: PoolSnapshot,
  wanted: number,
  notServing: ReadonlySet<string> = new Set(),
): CapacityCheck {
  let yes = 0;
  let no = 0;
  // Why: per host, not per key: a restart takes the host out of every pool it is in (docs/inventory.md, services).
  for (const host of cluster.hosts) {
    const entries = hostEntries(snapshot, poolKeysOf(host));
    if (entries.some((e) => e.state !== 'present' || e.value.pooled === 'inactive')) continue;
    if (pooledEverywhere(entries) && !notServing.has(host.name)) yes += 1;
    else no += 1;
  }
  const guard = guardArithmetic({ minPooled: cluster.settings.minPooled, yes, no });
  const ok = wanted <= guard.maxDepool;
  const text = `${cluster.name}@${cluster.dc}: ${guard.text}; wanted ${wanted}`;
  return { ok, pooled: guard.pooled, required: guard.required, wanted, maxDepool: guard.maxDepool, text };
}
