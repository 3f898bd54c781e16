import type { Amount, InventoryCluster } from '../inventory/types.js';
import type { PlannedBatch, PlannedHost } from './types.js';

/**
 * With a canary: its hosts go first and form batch 1 (a count: the first N hosts), then the
 * cluster's ramp. Emergency plans have no canary: a rollback does not soak.
 */
export function canaryOrder(
  cluster: InventoryCluster,
  hosts: readonly PlannedHost[],
  ramp: readonly Amount[],
  emergency: boolean,
): { hosts: readonly PlannedHost[]; ramp: readonly Amount[] } {
  const canary = cluster.settings.canary;
  if (canary === undefined || emergency || hosts.length === 0) return { hosts, ramp };
  if (canary.batch.kind === 'count') return { hosts, ramp: [{ kind: 'count', value: canary.batch.value }, ...ramp] };
  const named = new Set(canary.batch.hosts);
  const first = hosts.filter((h) => named.has(h.host));
  // Why: canaries all skipped (inactive, missing) leave nothing to judge by: no canary batch, and no gate.
  if (first.length === 0) return { hosts, ramp };
  return {
    hosts: [...first, ...hosts.filter((h) => !named.has(h.host))],
    ramp: [{ kind: 'count', value: first.length }, ...ramp],
  };
}

/** The canary batch's hosts, when the plan has one (the orchestrator gates after it). */
export function canaryHosts(
  cluster: InventoryCluster,
  batches: readonly PlannedBatch[],
  emergency: boolean,
): { canary?: readonly string[] } {
  if (cluster.settings.canary === undefined || emergency || batches[0] === undefined) return {};
  if (cluster.settings.canary.batch.kind === 'hosts') {
    const named = new Set(cluster.settings.canary.batch.hosts);
    if (!batches[0].hosts.some((h) => named.has(h.host))) return {};
  }
  return { canary: batches[0].hosts.map((h) => h.host) };
}

/** Splits batches wider than the fleet-wide cap (--max-concurrency): a batch must fit in the slots it waits for. */
export function capBatches(batches: readonly PlannedBatch[], maxBatch: number | undefined): PlannedBatch[] {
  if (maxBatch === undefined) return [...batches];
  return batches.flatMap((b) => {
    const out: PlannedBatch[] = [];
    for (let i = 0; i < b.hosts.length; i += maxBatch) out.push({ hosts: b.hosts.slice(i, i + maxBatch) });
    return out;
  });
}
