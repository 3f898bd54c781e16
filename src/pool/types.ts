import type { Fence } from '../kv/fence.js';
import type { Kv } from '../kv/kv.js';

export type Pooled = 'yes' | 'no' | 'inactive';

/** Identifies one conftool object: `<prefix>/<dc>/<cluster>/<service>/<host>`. */
export interface PoolKey {
  readonly dc: string;
  readonly cluster: string;
  readonly service: string;
  readonly host: string;
}

/** A conftool value. Fields rollout does not know are kept as they are on every write. */
export interface PoolValue {
  readonly pooled: Pooled;
  readonly weight: number;
  readonly [extra: string]: unknown;
}

/** A host's state as read, with the revision every write must compare against. */
export type PoolEntry =
  | { readonly key: PoolKey; readonly state: 'present'; readonly value: PoolValue; readonly modRevision: number }
  | { readonly key: PoolKey; readonly state: 'missing' }
  /** A key whose JSON is unreadable or lacks pooled/weight: never written to, never pooled. */
  | {
      readonly key: PoolKey;
      readonly state: 'malformed';
      readonly raw: string;
      readonly reason: string;
      readonly modRevision: number;
    };

/** What the planner needs of each host: keyed by poolKeyId(). */
export type PoolSnapshot = ReadonlyMap<string, PoolEntry>;

/** What a write changes; the rest of the value is kept. */
export interface PoolChange {
  readonly pooled?: Pooled;
  readonly weight?: number;
}

export interface PoolWrite {
  readonly entry: PoolEntry;
  readonly change: PoolChange;
}

/** A read that a decision was made on (the capacity guard): the snapshot, and each cluster list's revision. */
export interface GuardedRead {
  readonly snapshot: PoolSnapshot;
  readonly ranges: readonly { readonly prefix: string; readonly revision: number }[];
}

/** Pool state in etcd, conftool layout. Every write is a CAS on the revision read. */
export interface PoolStore {
  readonly kv: Kv;
  readonly prefix: string;
  /**
   * Whether writeAll's `also` puts commit in the very transaction of its writes (etcd v3), or only
   * after them (the v2 store: another API). Only then may a journal record ride with the depool.
   */
  readonly atomicAlso: boolean;
  read(keys: readonly PoolKey[]): Promise<PoolSnapshot>;
  /** read(), keeping the revision of every cluster read, for writeAll(). */
  readGuarded(keys: readonly PoolKey[]): Promise<GuardedRead>;
  /**
   * CAS write. Pass the entry as read; unknown fields of its value are preserved. Returns the new
   * modRevision. With a fence, it applies only while every fence key is unchanged (E_POOL_CONFLICT).
   * `also`: rollout's own keys (a journal record) put in the same transaction, where the store can.
   */
  write(
    entry: PoolEntry,
    change: PoolChange,
    fence?: Fence,
    also?: readonly { readonly key: string; readonly value: string }[],
  ): Promise<number>;
  /**
   * One transaction: every write (each a CAS on its entry) and the `also` puts, only if no pool key of
   * the clusters in `read` was put or created since that read. Otherwise nothing is written and it
   * throws E_POOL_CONFLICT: re-read and decide again. Returns the transaction's revision.
   */
  writeAll(
    read: GuardedRead,
    writes: readonly PoolWrite[],
    also?: readonly { readonly key: string; readonly value: string }[],
    fence?: Fence,
  ): Promise<number>;
}

export function poolKeyId(key: PoolKey): string {
  return `${key.dc}/${key.cluster}/${key.service}/${key.host}`;
}

/** Splits `a/b/c/d` into a PoolKey, or null when it has not exactly four non-empty parts. */
export function poolKeyFromParts(rest: string): PoolKey | null {
  const parts = rest.split('/');
  if (parts.length !== 4 || parts.some((part) => part === '')) return null;
  const [dc, cluster, service, host] = parts as [string, string, string, string];
  return { dc, cluster, service, host };
}
