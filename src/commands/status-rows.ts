import { hostServices, type InventoryCluster } from '../inventory/types.js';
import { poolKeyId, type PoolEntry, type PoolKey, type PoolSnapshot } from '../pool/types.js';

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
  /** A host in several pools: each service's state (then `pooled` is `yes` only when yes in every one). */
  readonly pools?: readonly { readonly service: string; readonly pooled: string; readonly weight: number | null }[];
}

/** One key's state as `rollout status` shows it. */
function keyState(entry: PoolEntry | undefined): { pooled: string; weight: number | null; revision: number } {
  return {
    pooled: entry?.state === 'present' ? entry.value.pooled : (entry?.state ?? 'missing'),
    weight: entry?.state === 'present' ? entry.value.weight : null,
    revision: entry?.state === 'present' || entry?.state === 'malformed' ? entry.modRevision : -1,
  };
}

/** Several keys as one host: the worst state first, `yes` only when every key is yes. */
function combined(states: readonly string[]): string {
  for (const worst of ['malformed', 'missing', 'inactive', 'no']) if (states.includes(worst)) return worst;
  return states[0] ?? 'missing';
}

/** Pure: one row per inventory host of the clusters (each service's state for a host in several), with what rollout recorded about it. */
export function statusRows(
  clusters: readonly InventoryCluster[],
  snapshot: PoolSnapshot,
  notes: ReadonlyMap<string, ChangeNote>,
): StatusRow[] {
  return clusters.flatMap((cluster) =>
    cluster.hosts.map((host): StatusRow => {
      const keys: PoolKey[] = hostServices(host.settings).map((service) => ({
        dc: host.dc,
        cluster: host.cluster,
        service,
        host: host.name,
      }));
      const states = keys.map((key) => ({ key, ...keyState(snapshot.get(poolKeyId(key))) }));
      // Why: the latest change rollout knows of, on any of the host's keys, explains the row.
      const known = states
        .map(({ key, revision }) => {
          const note = notes.get(poolKeyId(key));
          return note && note.revision === revision ? note : undefined;
        })
        .filter((n): n is ChangeNote => n !== undefined)
        .sort((x, y) => y.revision - x.revision)[0];
      const first = states[0] as (typeof states)[number];
      return {
        ...first.key,
        service: keys.map((k) => k.service).join(','),
        pooled: combined(states.map((st) => st.pooled)),
        weight: first.weight,
        changedBy: known?.by ?? null,
        reason: known ? known.reason : null,
        changedAt: known?.time ?? null,
        ...(keys.length > 1
          ? { pools: states.map((st) => ({ service: st.key.service, pooled: st.pooled, weight: st.weight })) }
          : {}),
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
    r.pools === undefined ? r.pooled : r.pools.map((p) => `${p.service}=${p.pooled}`).join(' '),
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
