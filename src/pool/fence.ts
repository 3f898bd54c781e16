import type { Kv } from './kv.js';
import type { Fence } from './types.js';

/**
 * A put that applies only while every fence key (a run's lock keys) is unchanged, and, with
 * expectModRevision, only if the key itself is at that revision; without a fence, a plain put.
 */
export function fencedPut(kv: Kv, key: string, value: string, options: { readonly expectModRevision?: number; readonly fence?: Fence } = {}): Promise<number> {
  const fence = options.fence ?? [];
  const expected = options.expectModRevision;
  if (fence.length === 0) return kv.put(key, value, expected === undefined ? {} : { expectModRevision: expected });
  return kv.txn({ keys: [...(expected === undefined ? [] : [{ key, modRevision: expected }]), ...fence] }, [{ key, value }]);
}
