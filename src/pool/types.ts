import type { Kv } from './kv.js';

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
  | { readonly key: PoolKey; readonly state: 'malformed'; readonly raw: string; readonly reason: string; readonly modRevision: number };

/** What the planner needs of each host: keyed by poolKeyId(). */
export type PoolSnapshot = ReadonlyMap<string, PoolEntry>;

/** Pool state in etcd, conftool layout. Every write is a CAS on the revision read. */
export interface PoolStore {
  readonly kv: Kv;
  readonly prefix: string;
  read(keys: readonly PoolKey[]): Promise<PoolSnapshot>;
  /** CAS write. Pass the entry as read; unknown fields of its value are preserved. Returns the new modRevision. */
  write(entry: PoolEntry, change: { readonly pooled?: Pooled; readonly weight?: number }): Promise<number>;
}

export function poolKeyId(key: PoolKey): string {
  return `${key.dc}/${key.cluster}/${key.service}/${key.host}`;
}
