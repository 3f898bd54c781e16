import { describeError, isRolloutError, RolloutError } from '../errors.js';
import { fenceMovedError, isV2Refusal, readTree, v2ConflictError, v2Failure } from '../kv/etcd-v2-answers.js';
import type { V2Client } from '../kv/etcd-v2-client.js';
import { movedFenceKey, type Fence } from '../kv/fence.js';
import type { Kv } from '../kv/kv.js';
import type { GuardedRead, PoolEntry, PoolKey } from './types.js';

/** One key of a batch: what to write, and the modifiedIndex its CAS compares (0: create). */
export interface BatchPut {
  readonly key: PoolKey;
  readonly path: string;
  readonly entry: PoolEntry;
  readonly value: string;
  readonly prevIndex: number;
}

/** A key the batch wrote, at its own new modifiedIndex. */
export interface Landed {
  readonly key: PoolKey;
  readonly path: string;
  readonly index: number;
}

interface BatchInput {
  readonly kv: Kv;
  readonly client: V2Client;
  readonly read: GuardedRead;
  readonly puts: readonly BatchPut[];
  readonly fence: Fence;
  /** The v3 records (aliases, the commit marker) that say the batch committed, from what landed. */
  readonly records: (landed: readonly Landed[]) => readonly { readonly key: string; readonly value: string }[];
}

/** The lowest index of a batch: the one revision the batch reports for every key it wrote. */
export function batchRevision(landed: readonly Landed[]): number {
  return Math.min(...landed.map((l) => l.index), Number.MAX_SAFE_INTEGER);
}

/** `unknown`: its answer was lost and reading it back failed too, so it may have landed. */
type Outcome =
  | { readonly put: BatchPut; readonly index: number }
  | { readonly put: BatchPut; readonly error: RolloutError; readonly unknown?: true };

/**
 * A CAS whose answer was lost is resolved by reading the key back: at a later index and holding
 * exactly our value, it landed; at the index we compared, it did not. Never sent again blind.
 */
async function casOnce(client: V2Client, put: BatchPut): Promise<Outcome> {
  try {
    const answer = await client.put(
      put.path,
      put.value,
      put.prevIndex === 0 ? { prevExist: false } : { prevIndex: put.prevIndex },
    );
    if (answer.status === 200 || answer.status === 201)
      return { put, index: answer.body.node?.modifiedIndex ?? answer.index };
    return { put, error: isV2Refusal(answer) ? v2ConflictError(put.path, answer) : v2Failure(put.path, answer) };
  } catch (error) {
    const after = await client.get(put.path).catch(() => undefined);
    const node = after?.status === 200 ? after.body.node : undefined;
    if (node !== undefined && node.value === put.value && node.modifiedIndex > put.prevIndex)
      return { put, index: node.modifiedIndex };
    const why = isRolloutError(error)
      ? error
      : new RolloutError('E_ETCD_UNREACHABLE', `${put.path}: ${describeError(error)}`, { key: put.path, cause: error });
    return after === undefined ? { put, error: why, unknown: true } : { put, error: why };
  }
}

/**
 * The guard's condition on v2, checked by reading the clusters again after the batch's writes: no
 * key of a cluster read has a modifiedIndex past that read except the batch's own, each at the
 * index it wrote, and no key the read saw is gone. Returns the first key that moved, if any.
 */
async function movedSince(
  client: V2Client,
  read: GuardedRead,
  ours: ReadonlyMap<string, number>,
): Promise<string | undefined> {
  // Why: keys the read saw must still be there (v3's range compare misses deletes; here they are cheap to see).
  const present = [...read.snapshot.values()].filter((e) => e.state !== 'missing');
  for (const range of read.ranges) {
    const tree = await readTree(client, range.prefix.replace(/\/+$/, ''));
    for (const [path, node] of tree.nodes) {
      const mine = ours.get(path);
      if (mine === undefined ? node.modifiedIndex > range.revision : node.modifiedIndex !== mine) return path;
    }
    const inRange = present.filter((e) => range.prefix.endsWith(`/${e.key.dc}/${e.key.cluster}/`));
    const expected = [
      ...inRange.map((e) => `${range.prefix}${e.key.service}/${e.key.host}`),
      ...[...ours.keys()].filter((p) => p.startsWith(range.prefix)),
    ];
    const gone = expected.find((path) => !tree.nodes.has(path));
    if (gone !== undefined) return gone;
  }
  return undefined;
}

/**
 * Puts back what the batch wrote, each only while it still holds the batch's write (a CAS on the
 * index the batch got). A key someone changed since is theirs and stays. Returns the keys that
 * could not be put back because etcd did not answer: those may be left depooled.
 */
async function undo(
  client: V2Client,
  landed: readonly { readonly put: BatchPut; readonly index: number }[],
): Promise<string[]> {
  const stuck: string[] = [];
  await Promise.all(
    landed.map(async ({ put, index }) => {
      const prior =
        put.entry.state === 'present'
          ? JSON.stringify(put.entry.value)
          : put.entry.state === 'malformed'
            ? put.entry.raw
            : undefined;
      for (let attempt = 0; attempt < 3; attempt += 1) {
        try {
          const answer =
            prior === undefined
              ? await client.remove(put.path, index)
              : await client.put(put.path, prior, { prevIndex: index });
          if (answer.status < 300 || isV2Refusal(answer)) return;
        } catch {
          // Why: a lost answer to the undo is settled by the next attempt: a refusal then means it landed or someone wrote.
        }
      }
      stuck.push(put.path);
    }),
  );
  return stuck;
}

/** Undoes a partial batch and throws why it stopped; names the hosts the undo could not reach. */
async function abandon(
  client: V2Client,
  landed: readonly { readonly put: BatchPut; readonly index: number }[],
  why: RolloutError,
  unknown: readonly string[] = [],
): Promise<never> {
  const stuck = [...unknown, ...(await undo(client, landed))];
  if (stuck.length === 0) throw why;
  throw new RolloutError(
    'E_ETCD_UNREACHABLE',
    `${why.message}; the partial batch could not be undone (etcd did not answer) for ${stuck.join(', ')}: they may be left depooled by this run (see \`rollout status\`, repool with \`rollout pool\`)`,
    { key: stuck[0] ?? '', cause: why },
  );
}

/**
 * A batch on v2, which has no multi-key transaction: fence and guard checked, every key's CAS on
 * its prevIndex, the fence and the guard checked again on a fresh read of the clusters, then the
 * v3 records (the commit marker) in one fenced transaction. Any failure before that record undoes
 * what landed, so the batch either commits whole (marker present) or writes nothing that stays.
 */
export async function writeBatchV2(input: BatchInput): Promise<Landed[]> {
  const { kv, client, read, puts, fence } = input;
  const moved = await movedFenceKey(kv, fence);
  if (moved !== undefined) throw fenceMovedError(moved);
  // Why: a stale read fails here, before any write; the check after the writes is the one that counts.
  const stale = await movedSince(client, read, new Map());
  if (stale !== undefined)
    throw new RolloutError(
      'E_POOL_CONFLICT',
      `${stale} changed since the capacity guard's read, so the batch wrote nothing`,
      { key: stale },
    );
  const outcomes = await Promise.all(puts.map((put) => casOnce(client, put)));
  const landed = outcomes.flatMap((o) => ('index' in o ? [o] : []));
  const failed = outcomes.find((o): o is Outcome & { error: RolloutError } => 'error' in o);
  const unknown = outcomes.flatMap((o) => ('unknown' in o && o.unknown ? [o.put.path] : []));
  if (failed !== undefined) return abandon(client, landed, failed.error, unknown);
  const ours = new Map(landed.map((l) => [l.put.path, l.index]));
  const after = await movedSince(client, read, ours).catch((error: unknown) =>
    isRolloutError(error) ? error : new RolloutError('E_ETCD_UNREACHABLE', describeError(error)),
  );
  if (after instanceof RolloutError) return abandon(client, landed, after);
  if (after !== undefined)
    return abandon(
      client,
      landed,
      new RolloutError('E_POOL_CONFLICT', `${after} changed while the batch was written, so the batch was undone`, {
        key: after,
      }),
    );
  const result = landed.map(({ put, index }) => ({ key: put.key, path: put.path, index }));
  const records = input.records(result);
  if (records.length === 0) {
    const lost = await movedFenceKey(kv, fence);
    if (lost !== undefined) return abandon(client, landed, fenceMovedError(lost));
    return result;
  }
  try {
    await kv.txn({ keys: fence }, records);
  } catch (error) {
    // Why: a commit whose answer was lost is read back; a refused one (the fence moved) is undone.
    const first = records[0] as { key: string; value: string };
    const found = isRolloutError(error, 'E_POOL_CONFLICT') ? null : await kv.get(first.key).catch(() => undefined);
    if (found === undefined) throw error;
    if (found?.value !== first.value)
      return abandon(
        client,
        landed,
        isRolloutError(error) ? error : new RolloutError('E_ETCD_UNREACHABLE', describeError(error), { cause: error }),
      );
  }
  return result;
}
