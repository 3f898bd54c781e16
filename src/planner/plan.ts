import { RolloutError } from '../errors.js';
import { allClusters, hostServices } from '../inventory/types.js';
import { hostEntries, hostEntry, pooledEverywhere } from '../pool/host-entry.js';
import type { Inventory, InventoryCluster, InventoryHost } from '../inventory/types.js';
import { poolKeyId } from '../pool/types.js';
import type { PoolKey, PoolSnapshot } from '../pool/types.js';
import { cutBatches, describeBatchSize } from './batches.js';
import { blockedBy, guardArithmetic } from './guard.js';
import { canaryHosts, canaryOrder, capBatches } from './guards.js';
import { selectClusters } from './select.js';
import { planWindow } from './window.js';
import type { ClusterPlan, HostCounts, Plan, PlanOptions, PlannedHost, Selection, SkippedHost } from './types.js';

/** Everything the planner needs: it reads nothing else (no clock, no randomness, no I/O). */
export interface PlanInput {
  readonly inventory: Inventory;
  readonly selection: Selection;
  /** Pool state of the selected hosts, keyed by poolKeyId() (see poolKeysFor()). */
  readonly snapshot: PoolSnapshot;
  readonly options: PlanOptions;
}

/** Batches of every selected cluster, from the pool state read. Throws E_SELECTION, E_USAGE. */
export function planRollout(input: PlanInput): Plan {
  const { inventory, selection, snapshot, options } = input;
  if (options.batchSize !== undefined && options.batchSize.length === 0) {
    throw new RolloutError('E_USAGE', '--batch-size: expected a count or a percentage like "10%", got nothing');
  }
  const clusters = selectClusters(inventory, selection).map((cluster) => planCluster(cluster, snapshot, options));
  return { emergency: options.emergency, clusters };
}

/** True when some cluster cannot start a single batch (exit code 4). */
export function isBlocked(plan: Plan): boolean {
  return plan.clusters.some((c) => c.blocked !== null);
}

/** The pool keys of every host of these clusters, in order, to read the snapshot with. */
export function poolKeysFor(clusters: readonly InventoryCluster[]): PoolKey[] {
  return clusters.flatMap((c) => c.hosts.flatMap(poolKeysOf));
}

/** For --offline: every host pooled `yes` with its inventory weight, as if etcd said so. */
export function offlineSnapshot(
  inventory: Inventory,
  clusters: readonly InventoryCluster[] = allClusters(inventory),
): PoolSnapshot {
  const entries = clusters.flatMap((c) =>
    c.hosts.flatMap((host) =>
      poolKeysOf(host).map((key) => {
        const value = { pooled: 'yes' as const, weight: host.settings.weight };
        return [poolKeyId(key), { key, state: 'present' as const, value, modRevision: 0 }] as const;
      }),
    ),
  );
  return new Map(entries);
}

/** The conftool key of an inventory host (of its first service). */
export function poolKeyOf(host: InventoryHost): PoolKey {
  return { dc: host.dc, cluster: host.cluster, service: host.settings.service, host: host.name };
}

/** Every conftool key of an inventory host: one per service it is in. */
export function poolKeysOf(host: InventoryHost): PoolKey[] {
  return hostServices(host.settings).map((service) => ({
    dc: host.dc,
    cluster: host.cluster,
    service,
    host: host.name,
  }));
}

function planCluster(cluster: InventoryCluster, snapshot: PoolSnapshot, options: PlanOptions): ClusterPlan {
  const { restart, skipped, counts } = classify(cluster, snapshot, options.emergency);
  const batchSize = options.batchSize ?? cluster.settings.batchSize;
  const mode = options.batchMode ?? cluster.settings.batchMode ?? 'window';
  const common = {
    dc: cluster.dc,
    cluster: cluster.name,
    service: [...new Set(cluster.hosts.flatMap((h) => hostServices(h.settings)))].join(', '),
    counts,
    toRestart: restart.length,
    batchSize,
    batchText: describeBatchSize(batchSize, restart.length),
    skipped,
    mode,
  };
  // Why: the window never holds more hosts out than one barrier batch could (guard, fleet-wide cap).
  const windowOf = (maxDepool: number): { window?: ReturnType<typeof planWindow> } =>
    mode === 'window'
      ? { window: planWindow(batchSize, restart.length, Math.min(maxDepool, options.maxBatch ?? Infinity)) }
      : {};
  const shaped = canaryOrder(cluster, restart, batchSize, options.emergency);
  if (options.emergency) {
    const batches = capBatches(cutBatches({ hosts: restart, ramp: batchSize, maxDepool: Infinity }), options.maxBatch);
    return { ...common, guard: null, batches, blocked: null, ...windowOf(Infinity) };
  }
  const guard = guardArithmetic({ minPooled: cluster.settings.minPooled, yes: counts.yes, no: counts.no });
  if (guard.maxDepool === 0 && restart.some((h) => h.depool)) {
    return { ...common, guard, batches: [], blocked: blockedBy(guard, { cluster: cluster.name, dc: cluster.dc }) };
  }
  const batches = capBatches(
    cutBatches({ hosts: shaped.hosts, ramp: shaped.ramp, maxDepool: guard.maxDepool }),
    options.maxBatch,
  );
  return {
    ...common,
    guard,
    batches,
    blocked: null,
    ...canaryHosts(cluster, batches, false),
    ...windowOf(guard.maxDepool),
  };
}

/** Sorts hosts, in inventory (natural) order, into those to restart and those skipped, with reasons. */
function classify(
  cluster: InventoryCluster,
  snapshot: PoolSnapshot,
  emergency: boolean,
): { restart: PlannedHost[]; skipped: SkippedHost[]; counts: HostCounts } {
  const restart: PlannedHost[] = [];
  const skipped: SkippedHost[] = [];
  const counts = { total: cluster.hosts.length, yes: 0, no: 0, inactive: 0, missing: 0, malformed: 0 };
  for (const host of cluster.hosts) {
    const key = poolKeyOf(host);
    const entries = hostEntries(snapshot, poolKeysOf(host));
    const entry = hostEntry(entries);
    if (entry === undefined || entry.state === 'missing') {
      counts.missing += 1;
      const reason = `missing: no pool key in etcd (create it with \`rollout pool ${host.name}\`)`;
      skipped.push({ host: host.name, reason });
    } else if (entry.state === 'malformed') {
      counts.malformed += 1;
      skipped.push({ host: host.name, reason: `malformed: ${entry.reason}` });
    } else if (entry.value.pooled === 'inactive') {
      counts.inactive += 1;
      skipped.push({ host: host.name, reason: 'inactive' });
    } else {
      const pooled = entry.value.pooled;
      // Why: a host counts as pooled only when it is pooled in every service (docs/inventory.md, services).
      counts[pooledEverywhere(entries) ? 'yes' : 'no'] += 1;
      // `no` hosts were depooled by someone else: restart them, never touch their state.
      // A dual-master host swaps its masters and never leaves the pool.
      const depool = pooled === 'yes' && !emergency && host.settings.restart.strategy !== 'dual-master';
      restart.push({
        host: host.name,
        dc: host.dc,
        cluster: host.cluster,
        service: key.service,
        pooled,
        weight: entry.value.weight,
        depool,
      });
    }
  }
  return { restart, skipped, counts };
}
