import { fencedPut, movedFenceKey, type Fence } from '../kv/fence.js';
import { fenceMovedError, isV2Refusal, readTree, v2ConflictError, v2Failure } from '../kv/etcd-v2-answers.js';
import { batchRevision, writeBatchV2, type Landed } from './etcd-v2-batch.js';
import type { V2Client, V2Node } from '../kv/etcd-v2-client.js';
import type { Kv } from '../kv/kv.js';
import { nextValue, parsePoolValue, poolKeyPath } from './store.js';
import { poolKeyId } from './types.js';
import type { GuardedRead, PoolEntry, PoolKey, PoolStore } from './types.js';

/**
 * Where a v2 batch records the revision it reported for each host (`/rollout/v1/pool-v2/<dc>/<cluster>/<service>/<host>`):
 * v3 (rollout's own keys), so `rollout recover` in another process sees it too.
 */
export const V2_ALIAS_PREFIX = '/rollout/v1/pool-v2/';

/** A v2 batch writes each host at its own modifiedIndex but reports one revision (the lowest) for all. */
export interface V2Alias {
  /** The host key's real modifiedIndex after the batch. */
  readonly index: number;
  /** The batch's revision, reported as the key's modRevision while it still is at `index`. */
  readonly revision: number;
}

export function aliasKey(key: PoolKey): string {
  return `${V2_ALIAS_PREFIX}${key.dc}/${key.cluster}/${key.service}/${key.host}`;
}

function parseAlias(raw: string): V2Alias | undefined {
  try {
    const { index, revision } = JSON.parse(raw) as Partial<V2Alias>;
    return Number.isInteger(index) && Number.isInteger(revision)
      ? { index: index as number, revision: revision as number }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Conftool's pool keys on etcd's v2 keys API (what conftool and PyBal use); rollout's own keys
 * (locks, journal, markers, confirmations) stay on the v3 `kv`. v2 has no multi-key transaction:
 * writeAll is a checked sequence of per-key CAS, see etcd-v2-batch.ts and docs/pool-state.md.
 */
export function createV2PoolStore(kv: Kv, client: V2Client, prefix: string): PoolStore {
  const trimmed = prefix.replace(/\/+$/, '');
  /** Last seen alias of each key: what a write must send as prevIndex for a reported revision. */
  const seen = new Map<string, V2Alias>();

  async function readGuarded(keys: readonly PoolKey[]): Promise<GuardedRead> {
    const clusters = new Map<string, PoolKey>();
    for (const key of keys) clusters.set(`${trimmed}/${key.dc}/${key.cluster}`, key);
    const trees = await Promise.all(
      [...clusters].map(async ([dir, key]) => {
        const [tree, aliases] = await Promise.all([
          readTree(client, dir),
          kv.list(`${V2_ALIAS_PREFIX}${key.dc}/${key.cluster}/`),
        ]);
        return { dir, tree, aliases };
      }),
    );
    const nodes = new Map<string, V2Node>();
    for (const { tree, aliases } of trees) {
      for (const [path, node] of tree.nodes) nodes.set(path, node);
      for (const entry of aliases) {
        const alias = parseAlias(entry.value);
        const path = `${trimmed}/${entry.key.slice(V2_ALIAS_PREFIX.length)}`;
        // Why: an alias holds only while the key is still at the index the batch wrote.
        if (alias !== undefined && tree.nodes.get(path)?.modifiedIndex === alias.index) seen.set(path, alias);
      }
    }
    const snapshot = new Map<string, PoolEntry>();
    for (const key of keys) {
      const path = poolKeyPath(prefix, key);
      const node = nodes.get(path);
      if (node?.value === undefined) {
        snapshot.set(poolKeyId(key), { key, state: 'missing' });
        continue;
      }
      const alias = seen.get(path);
      const modRevision = alias?.index === node.modifiedIndex ? alias.revision : node.modifiedIndex;
      // Why: a write of what was just read then needs no v3 lookup for its prevIndex.
      if (modRevision === node.modifiedIndex) seen.set(path, { index: node.modifiedIndex, revision: modRevision });
      const parsed = parsePoolValue(node.value);
      snapshot.set(
        poolKeyId(key),
        parsed.ok
          ? { key, state: 'present', value: parsed.value, modRevision }
          : { key, state: 'malformed', raw: node.value, reason: parsed.reason, modRevision },
      );
    }
    return { snapshot, ranges: trees.map(({ dir, tree }) => ({ prefix: `${dir}/`, revision: tree.index })) };
  }

  /** The prevIndex for a revision this store reported (an alias, or the key's own modifiedIndex). */
  async function prevIndexOf(key: PoolKey, modRevision: number): Promise<number> {
    const path = poolKeyPath(prefix, key);
    const known = seen.get(path);
    if (known?.revision === modRevision) return known.index;
    const stored = await kv.get(aliasKey(key));
    const alias = stored === null ? undefined : parseAlias(stored.value);
    return alias?.revision === modRevision ? alias.index : modRevision;
  }

  async function write(
    entry: PoolEntry,
    change: Parameters<PoolStore['write']>[1],
    fence: Fence = [],
    also: readonly { readonly key: string; readonly value: string }[] = [],
  ): Promise<number> {
    const path = poolKeyPath(prefix, entry.key);
    const next = nextValue(path, entry, change);
    const moved = await movedFenceKey(kv, fence);
    if (moved !== undefined) throw fenceMovedError(moved);
    const condition =
      next.modRevision === 0
        ? { prevExist: false as const }
        : { prevIndex: await prevIndexOf(entry.key, next.modRevision) };
    const answer = await client.put(path, next.value, condition);
    if (answer.status === 200 || answer.status === 201) {
      // Why: v2 and v3 share no transaction: rollout's own keys follow the pool write, fenced alike.
      await Promise.all(also.map(({ key, value }) => fencedPut(kv, key, value, { fence })));
      return answer.body.node?.modifiedIndex ?? answer.index;
    }
    throw isV2Refusal(answer) ? v2ConflictError(path, answer) : v2Failure(path, answer);
  }

  return {
    kv,
    prefix,
    // Why: the pool keys live in v2 and rollout's own keys in v3: no transaction spans both.
    atomicAlso: false,
    read: async (keys) => (await readGuarded(keys)).snapshot,
    readGuarded,
    write,
    writeAll: async (read, writes, also = [], fence = []) => {
      const puts = await Promise.all(
        writes.map(async ({ entry, change }) => {
          const path = poolKeyPath(prefix, entry.key);
          const next = nextValue(path, entry, change);
          return {
            key: entry.key,
            path,
            entry,
            value: next.value,
            prevIndex: next.modRevision === 0 ? 0 : await prevIndexOf(entry.key, next.modRevision),
          };
        }),
      );
      // Why: v2 gives each key its own modifiedIndex; the batch reports the lowest for all, and records the others as aliases.
      const records = (landed: readonly Landed[]): { key: string; value: string }[] => {
        const revision = batchRevision(landed);
        return [
          ...landed
            .filter((l) => l.index !== revision)
            .map((l) => ({ key: aliasKey(l.key), value: JSON.stringify({ index: l.index, revision }) })),
          ...also,
        ];
      };
      const landed = await writeBatchV2({ kv, client, read, puts, fence, records });
      const revision = batchRevision(landed);
      for (const l of landed) seen.set(l.path, { index: l.index, revision });
      return landed.length === 0 ? Math.max(0, ...read.ranges.map((r) => r.revision)) : revision;
    },
  };
}
