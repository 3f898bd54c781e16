import type { InventoryCluster } from '../inventory/types.js';
import { poolKeyId, type PoolKey, type PoolSnapshot } from '../pool/types.js';

/** Who last changed a key, when rollout knows: a manual record or a run's journal at that revision. */
export interface ChangeNote {
  readonly revision: number;
  readonly by: string;
  readonly reason: string;
  readonly time: string;
}

export interface StatusRow {
  readonly dc: string;
  readonly cluster: string;
  readonly service: string;
  readonly host: string;
  readonly pooled: string;
  readonly weight: number | null;
  readonly changedBy: string | null;
  readonly reason: string | null;
  readonly changedAt: string | null;
}

/** Pure: one row per inventory host of the clusters, joined with what rollout recorded about it. */
export function statusRows(
  clusters: readonly InventoryCluster[],
  snapshot: PoolSnapshot,
  notes: ReadonlyMap<string, ChangeNote>,
): StatusRow[] {
  return clusters.flatMap((cluster) =>
    cluster.hosts.map((host) => {
      const key: PoolKey = { dc: host.dc, cluster: host.cluster, service: host.settings.service, host: host.name };
      const entry = snapshot.get(poolKeyId(key));
      const note = notes.get(poolKeyId(key));
      const current = entry?.state === 'present' || entry?.state === 'malformed' ? entry.modRevision : -1;
      const known = note && note.revision === current ? note : undefined;
      return {
        ...key,
        pooled: entry?.state === 'present' ? entry.value.pooled : (entry?.state ?? 'missing'),
        weight: entry?.state === 'present' ? entry.value.weight : null,
        changedBy: known?.by ?? null,
        reason: known ? known.reason : null,
        changedAt: known?.time ?? null,
      };
    }),
  );
}

export function renderStatusTable(rows: readonly StatusRow[]): string {
  const header = ['DC', 'CLUSTER', 'SERVICE', 'HOST', 'POOLED', 'WEIGHT', 'CHANGED BY / WHY'];
  const cells = rows.map((r) => [
    r.dc,
    r.cluster,
    r.service,
    r.host,
    r.pooled,
    r.weight === null ? '-' : String(r.weight),
    r.changedBy ? `${r.changedBy} ${r.changedAt ?? ''}: ${r.reason ?? ''}` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}
