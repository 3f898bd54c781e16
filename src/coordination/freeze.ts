import { ROLLOUT_PREFIX } from '../keyspace.js';
import type { Kv } from '../kv/kv.js';
import type { ClusterRef } from './lock.js';

/** `/rollout/v1/freeze/<dc|*>/<cluster|*>`: a deploy freeze that every new sync/restart in its scope respects. */
export const FREEZE_PREFIX = `${ROLLOUT_PREFIX}freeze/`;
const ANY = '*';

export interface Freeze {
  /** null: every datacenter. */
  readonly dc: string | null;
  /** null: every cluster. */
  readonly cluster: string | null;
  readonly user: string;
  readonly machine: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
  /** ISO 8601; the freeze lapses then. Absent: until `rollout unfreeze`. */
  readonly until?: string;
}

export function freezeKey(dc: string | null, cluster: string | null): string {
  return `${FREEZE_PREFIX}${dc ?? ANY}/${cluster ?? ANY}`;
}

function parseFreeze(key: string, raw: string): Freeze | null {
  const [dc, cluster, ...rest] = key.slice(FREEZE_PREFIX.length).split('/');
  if (dc === undefined || cluster === undefined || rest.length > 0) return null;
  try {
    const value = JSON.parse(raw) as Partial<Record<keyof Freeze, unknown>> | null;
    if (typeof value?.user !== 'string' || typeof value.reason !== 'string') return null;
    return {
      dc: dc === ANY ? null : dc,
      cluster: cluster === ANY ? null : cluster,
      user: value.user,
      machine: typeof value.machine === 'string' ? value.machine : '',
      reason: value.reason,
      at: typeof value.at === 'string' ? value.at : '',
      ...(typeof value.until === 'string' ? { until: value.until } : {}),
    };
  } catch {
    return null;
  }
}

export async function setFreeze(kv: Kv, freeze: Freeze): Promise<void> {
  const { dc: _dc, cluster: _cluster, ...value } = freeze;
  await kv.put(freezeKey(freeze.dc, freeze.cluster), JSON.stringify(value));
}

/** Lifts the freeze of exactly this scope; resolves whether there was one. */
export function liftFreeze(kv: Kv, dc: string | null, cluster: string | null): Promise<boolean> {
  return kv.delete(freezeKey(dc, cluster));
}

/**
 * The freezes in force at `nowMs` (lapsed ones are left out). A key that is not a freeze is read as a
 * freeze by nobody: a damaged key must not let runs through.
 */
export async function listFreezes(kv: Kv, nowMs: number): Promise<Freeze[]> {
  const freezes: Freeze[] = [];
  for (const entry of await kv.list(FREEZE_PREFIX)) {
    const freeze = parseFreeze(entry.key, entry.value) ?? unreadable(entry.key);
    if (freeze.until !== undefined && Date.parse(freeze.until) <= nowMs) continue;
    freezes.push(freeze);
  }
  return freezes;
}

function unreadable(key: string): Freeze {
  const [dc, cluster] = key.slice(FREEZE_PREFIX.length).split('/');
  return {
    dc: dc === undefined || dc === ANY ? null : dc,
    cluster: cluster === undefined || cluster === ANY ? null : cluster,
    user: 'unknown',
    machine: '',
    reason: `${key} holds no readable freeze (delete it with \`rollout unfreeze\`)`,
    at: '',
  };
}

/** The freezes whose scope covers any of the clusters. */
export function freezesCovering(freezes: readonly Freeze[], clusters: readonly ClusterRef[]): Freeze[] {
  return freezes.filter((f) =>
    clusters.some((c) => (f.dc === null || f.dc === c.dc) && (f.cluster === null || f.cluster === c.cluster)),
  );
}

/** "the whole fleet", "eqiad", "appserver in every datacenter", "appserver@eqiad". */
export function describeScope(dc: string | null, cluster: string | null): string {
  if (dc === null) return cluster === null ? 'the whole fleet' : `${cluster} in every datacenter`;
  return cluster === null ? dc : `${cluster}@${dc}`;
}

/** "the whole fleet frozen by alice@deploy1 at …: reason (until …)". */
export function describeFreeze(freeze: Freeze): string {
  const who = freeze.machine === '' ? freeze.user : `${freeze.user}@${freeze.machine}`;
  const since = freeze.at === '' ? '' : ` at ${freeze.at}`;
  const until = freeze.until === undefined ? '' : ` (until ${freeze.until})`;
  return `${describeScope(freeze.dc, freeze.cluster)} frozen by ${who}${since}: ${freeze.reason}${until}`;
}
