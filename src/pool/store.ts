import { RolloutError } from '../errors.js';
import { fencedPut, type Fence } from '../kv/fence.js';
import type { Kv } from '../kv/kv.js';
import { poolKeyId } from './types.js';
import type { GuardedRead, PoolChange, PoolEntry, PoolKey, PoolStore, PoolValue, PoolWrite } from './types.js';

const POOLED: readonly string[] = ['yes', 'no', 'inactive'];

/** The result of reading one conftool value. */
export type ParsedPoolValue =
  { readonly ok: true; readonly value: PoolValue } | { readonly ok: false; readonly reason: string };

/** Validates a conftool JSON value; extra fields are kept, in their order. */
export function parsePoolValue(raw: string): ParsedPoolValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: `invalid JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: 'expected a JSON object like {"pooled": "yes", "weight": 10}' };
  }
  const record = parsed as Record<string, unknown>;
  if (typeof record.pooled !== 'string' || !POOLED.includes(record.pooled)) {
    return {
      ok: false,
      reason: `pooled must be "yes", "no" or "inactive", got ${JSON.stringify(record.pooled) ?? 'nothing'}`,
    };
  }
  if (typeof record.weight !== 'number' || !Number.isInteger(record.weight)) {
    return { ok: false, reason: `weight must be an integer, got ${JSON.stringify(record.weight) ?? 'nothing'}` };
  }
  return { ok: true, value: record as PoolValue };
}

function trimPrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

/** `<prefix>/<dc>/<cluster>/<service>/<host>` (a trailing slash on the prefix is ignored). */
export function poolKeyPath(prefix: string, key: PoolKey): string {
  return `${trimPrefix(prefix)}/${key.dc}/${key.cluster}/${key.service}/${key.host}`;
}

/** The PoolKey of an etcd path under the prefix, or null when it is not a conftool node key. */
export function parsePoolKeyPath(prefix: string, path: string): PoolKey | null {
  const head = `${trimPrefix(prefix)}/`;
  if (!path.startsWith(head)) return null;
  const parts = path.slice(head.length).split('/');
  if (parts.length !== 4 || parts.some((part) => part === '')) return null;
  const [dc, cluster, service, host] = parts as [string, string, string, string];
  return { dc, cluster, service, host };
}

function checkChange(path: string, change: PoolChange): void {
  if (change.pooled !== undefined && !POOLED.includes(change.pooled)) {
    throw new RolloutError(
      'E_POOL_VALUE',
      `refusing to write pooled=${String(change.pooled)} to ${path}: expected yes, no or inactive`,
      { key: path },
    );
  }
  if (change.weight !== undefined && (!Number.isInteger(change.weight) || change.weight < 0)) {
    throw new RolloutError(
      'E_POOL_VALUE',
      `refusing to write weight=${change.weight} to ${path}: expected a whole number >= 0`,
      { key: path },
    );
  }
}

/** The value a change makes of an entry, and the revision its CAS compares (0: create). */
export function nextValue(
  path: string,
  entry: PoolEntry,
  change: PoolChange,
): { readonly value: string; readonly modRevision: number } {
  checkChange(path, change);
  if (entry.state === 'malformed') {
    throw new RolloutError(
      'E_POOL_VALUE',
      `refusing to write ${path}: its value is malformed (${entry.reason}); fix it with conftool first`,
      { key: path },
    );
  }
  if (entry.state === 'missing') {
    // Why: conftool's defaults for a new node are weight 0 and pooled inactive.
    return {
      value: JSON.stringify({ pooled: change.pooled ?? 'inactive', weight: change.weight ?? 0 }),
      modRevision: 0,
    };
  }
  // Why: spreading keeps unknown fields and the original key order; changed keys stay where they were.
  const next: Record<string, unknown> = { ...entry.value };
  if (change.pooled !== undefined) next.pooled = change.pooled;
  if (change.weight !== undefined) next.weight = change.weight;
  return { value: JSON.stringify(next), modRevision: entry.modRevision };
}

/** Conftool-compatible pool state on any Kv. Reads one list per cluster; every write is a CAS. */
export function createPoolStore(kv: Kv, prefix: string): PoolStore {
  async function readGuarded(keys: readonly PoolKey[]): Promise<GuardedRead> {
    const clusters = new Set<string>();
    for (const key of keys) clusters.add(`${trimPrefix(prefix)}/${key.dc}/${key.cluster}/`);
    // Why: one list per cluster is one consistent revision for the whole cluster, which the capacity guard counts.
    const ranges = await Promise.all(
      [...clusters].map(async (clusterPrefix) => ({ prefix: clusterPrefix, ...(await kv.range(clusterPrefix)) })),
    );
    const byPath = new Map(ranges.flatMap((range) => range.entries).map((entry) => [entry.key, entry]));
    const snapshot = new Map<string, PoolEntry>();
    for (const key of keys) {
      const stored = byPath.get(poolKeyPath(prefix, key));
      if (stored === undefined) {
        snapshot.set(poolKeyId(key), { key, state: 'missing' });
        continue;
      }
      const parsed = parsePoolValue(stored.value);
      snapshot.set(
        poolKeyId(key),
        parsed.ok
          ? { key, state: 'present', value: parsed.value, modRevision: stored.modRevision }
          : { key, state: 'malformed', raw: stored.value, reason: parsed.reason, modRevision: stored.modRevision },
      );
    }
    return { snapshot, ranges: ranges.map(({ prefix: p, revision }) => ({ prefix: p, revision })) };
  }

  async function write(
    entry: PoolEntry,
    change: PoolChange,
    fence: Fence = [],
    also: readonly { readonly key: string; readonly value: string }[] = [],
  ): Promise<number> {
    const path = poolKeyPath(prefix, entry.key);
    const next = nextValue(path, entry, change);
    return fencedPut(kv, path, next.value, { expectModRevision: next.modRevision, fence, also });
  }

  async function writeAll(
    read: GuardedRead,
    writes: readonly PoolWrite[],
    also: readonly { readonly key: string; readonly value: string }[] = [],
    fence: Fence = [],
  ): Promise<number> {
    const puts = writes.map(({ entry, change }) => {
      const path = poolKeyPath(prefix, entry.key);
      return { key: path, ...nextValue(path, entry, change) };
    });
    // Why: the keys' own CAS, and no key of the clusters read put or created since: the guard's arithmetic still holds.
    return kv.txn(
      { keys: [...puts.map(({ key, modRevision }) => ({ key, modRevision })), ...fence], unchangedSince: read.ranges },
      [...puts.map(({ key, value }) => ({ key, value })), ...also],
    );
  }

  return {
    kv,
    prefix,
    atomicAlso: true,
    read: async (keys) => (await readGuarded(keys)).snapshot,
    readGuarded,
    write,
    writeAll,
  };
}
