import type { Kv } from './kv.js';

/** Keys that must still be at these revisions for a write to apply: a run's lock keys (see RunLocks.fence). */
export type Fence = readonly { readonly key: string; readonly modRevision: number }[];

/**
 * A put that applies only while every fence key (a run's lock keys) is unchanged, and, with
 * expectModRevision, only if the key itself is at that revision; without a fence (or `also` puts
 * to make in the same transaction), a plain put.
 */
export function fencedPut(
  kv: Kv,
  key: string,
  value: string,
  options: {
    readonly expectModRevision?: number;
    readonly fence?: Fence;
    readonly also?: readonly { readonly key: string; readonly value: string }[];
  } = {},
): Promise<number> {
  const fence = options.fence ?? [];
  const also = options.also ?? [];
  const expected = options.expectModRevision;
  if (fence.length === 0 && also.length === 0)
    return kv.put(key, value, expected === undefined ? {} : { expectModRevision: expected });
  return kv.txn({ keys: [...(expected === undefined ? [] : [{ key, modRevision: expected }]), ...fence] }, [
    { key, value },
    ...also,
  ]);
}

/** The first of the fence's keys (a run's lock keys) that moved since the run took it, or undefined while all hold. */
export async function movedFenceKey(kv: Kv, fence: Fence): Promise<string | undefined> {
  for (const { key, modRevision } of fence) {
    if ((await kv.get(key))?.modRevision !== modRevision) return key;
  }
  return undefined;
}
