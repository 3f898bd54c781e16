import { RolloutError } from '../errors.js';
import type { Kv } from './kv.js';
import { poolKeyId } from './types.js';
import type { PoolEntry, PoolKey, PoolSnapshot, PoolStore, PoolValue, Pooled } from './types.js';

const POOLED: readonly string[] = ['yes', 'no', 'inactive'];

/** The result of reading one conftool value. */
export type ParsedPoolValue = { readonly ok: true; readonly value: PoolValue } | { readonly ok: false; readonly reason: string };

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
    return { ok: false, reason: `pooled must be "yes", "no" or "inactive", got ${JSON.stringify(record.pooled) ?? 'nothing'}` };
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

function checkChange(path: string, change: { readonly pooled?: Pooled; readonly weight?: number }): void {
  if (change.pooled !== undefined && !POOLED.includes(change.pooled)) {
    throw new RolloutError('E_POOL_VALUE', `refusing to write pooled=${String(change.pooled)} to ${path}: expected yes, no or inactive`, { key: path });
  }
  if (change.weight !== undefined && (!Number.isInteger(change.weight) || change.weight < 0)) {
    throw new RolloutError('E_POOL_VALUE', `refusing to write weight=${change.weight} to ${path}: expected a whole number >= 0`, { key: path });
  }
}

/** Conftool-compatible pool state on any Kv. Reads one list per cluster; every write is a CAS. */
export function createPoolStore(kv: Kv, prefix: string): PoolStore {
  async function read(keys: readonly PoolKey[]): Promise<PoolSnapshot> {
    const clusters = new Map<string, string>();
    for (const key of keys) clusters.set(`${key.dc}/${key.cluster}`, `${trimPrefix(prefix)}/${key.dc}/${key.cluster}/`);
    // Why: one list per cluster is one consistent revision for the whole cluster, which the capacity guard counts.
    const lists = await Promise.all([...clusters.values()].map((clusterPrefix) => kv.list(clusterPrefix)));
    const byPath = new Map(lists.flat().map((entry) => [entry.key, entry]));
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
    return snapshot;
  }

  async function write(entry: PoolEntry, change: { readonly pooled?: Pooled; readonly weight?: number }): Promise<number> {
    const path = poolKeyPath(prefix, entry.key);
    checkChange(path, change);
    if (entry.state === 'malformed') {
      throw new RolloutError('E_POOL_VALUE', `refusing to write ${path}: its value is malformed (${entry.reason}); fix it with conftool first`, { key: path });
    }
    if (entry.state === 'missing') {
      // Why: conftool's defaults for a new node are weight 0 and pooled inactive.
      const created = { pooled: change.pooled ?? 'inactive', weight: change.weight ?? 0 };
      return kv.put(path, JSON.stringify(created), { expectModRevision: 0 });
    }
    // Why: spreading keeps unknown fields and the original key order; changed keys stay where they were.
    const next: Record<string, unknown> = { ...entry.value };
    if (change.pooled !== undefined) next.pooled = change.pooled;
    if (change.weight !== undefined) next.weight = change.weight;
    return kv.put(path, JSON.stringify(next), { expectModRevision: entry.modRevision });
  }

  return { kv, prefix, read, write };
}
