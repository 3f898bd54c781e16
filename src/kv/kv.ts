/**
 * The key-value port under pool state, locks, journal and LB confirmations.
 * Implemented by etcd (etcd-kv.ts) and memory (memory-kv.ts); both pass test/contract/kv.
 * Revisions are etcd's: one cluster-wide counter, each key has a modRevision.
 */
/** etcd's default limit of operations in one transaction (--max-txn-ops). */
export const TXN_OPS = 128;

export interface KvEntry {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
  readonly createRevision: number;
  /** Lease id, when the key is bound to one. */
  readonly lease: string | undefined;
}

export interface PutOptions {
  /**
   * Compare-and-swap: the write succeeds only if the key's modRevision is this value;
   * 0 means "only if the key does not exist". Omitted: unconditional (never used for pool keys).
   * A lost comparison throws RolloutError E_POOL_CONFLICT naming the key.
   */
  readonly expectModRevision?: number;
  /** Bind the key to a lease: it disappears when the lease expires or is revoked. */
  readonly lease?: Lease;
}

export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
  /** Stops keepalives and deletes every key bound to the lease. */
  revoke(): Promise<void>;
  /** Called once if keepalive fails and the lease is (or may be) gone. */
  onLost(listener: (error: Error) => void): void;
}

export type WatchEvent =
  | { readonly type: 'put'; readonly entry: KvEntry }
  | { readonly type: 'delete'; readonly key: string; readonly modRevision: number };

export interface Watch {
  close(): Promise<void>;
}

export interface WatchHandlers {
  onEvent(event: WatchEvent): void;
  /** The watch could not continue (compaction, reconnect): the caller must resynchronise with list(). */
  onResync(reason: string): void;
}

/** A list, with the store revision it was read at. */
export interface KvRange {
  readonly entries: KvEntry[];
  readonly revision: number;
}

/** What must still hold for a transaction to apply; every part must hold. */
export interface TxnCondition {
  /** Each key's modRevision is exactly this (0: the key does not exist). */
  readonly keys?: readonly { readonly key: string; readonly modRevision: number }[];
  /**
   * No key under the prefix was put or created after `revision`: one compare whatever the number of
   * keys (etcd's range compare), so it stays under etcd's limit of 128 operations a transaction.
   * A key deleted since is not seen by it.
   */
  readonly unchangedSince?: readonly { readonly prefix: string; readonly revision: number }[];
}

export interface Kv {
  get(key: string): Promise<KvEntry | null>;
  /** Every key under the prefix, sorted by key. */
  list(prefix: string): Promise<KvEntry[]>;
  /** list(), with the revision of the read: what a later txn's unchangedSince compares against. */
  range(prefix: string): Promise<KvRange>;
  /**
   * All puts at one new revision if the whole condition holds; otherwise nothing is written and it
   * throws E_POOL_CONFLICT. Returns the new revision (every put key's new modRevision).
   */
  txn(condition: TxnCondition, puts: readonly { readonly key: string; readonly value: string }[]): Promise<number>;
  /** Returns the new modRevision. */
  put(key: string, value: string, options?: PutOptions): Promise<number>;
  /** Deletes; with expectModRevision, only if unchanged (E_POOL_CONFLICT otherwise). Returns whether a key was deleted. */
  delete(key: string, options?: { readonly expectModRevision?: number }): Promise<boolean>;
  /** Deletes every key under the prefix in one request; returns how many went. */
  deletePrefix(prefix: string): Promise<number>;
  /** A lease kept alive until revoked or lost. */
  grantLease(ttlSeconds: number): Promise<Lease>;
  /** Events for keys under the prefix after `fromRevision` (exclusive), in order. */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Promise<Watch>;
  /** The store's current revision. */
  revision(): Promise<number>;
  close(): Promise<void>;
}
