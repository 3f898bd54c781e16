import { RolloutError } from '../errors.js';
import type { Kv, KvEntry, Lease, PutOptions, TxnCondition, Watch, WatchEvent, WatchHandlers } from './kv.js';
import { conflictError, leaseGoneError, txnConflictError, unreachableError } from './kv-errors.js';

/** The in-memory Kv with test hooks to expire leases, compact history and fake an outage. */
export interface MemoryKv extends Kv {
  /** Expires a lease as etcd would after its TTL: bound keys are deleted, onLost listeners fire. */
  expire(leaseId: string): void;
  /** Drops history up to `revision`; every open watch ends with onResync, later watches from before it too. */
  compact(revision: number): void;
  /** The next `count` calls throw E_ETCD_UNREACHABLE. */
  failNext(count: number): void;
  /** While down, every call throws E_ETCD_UNREACHABLE. */
  setDown(down: boolean): void;
  /** Live lease ids, for assertions. */
  leases(): string[];
}

export interface MemoryKvOptions {
  /** Unused by the semantics today; kept so callers can pass their test clock. */
  readonly clock?: () => number;
}

interface Stored {
  value: string;
  modRevision: number;
  createRevision: number;
  lease: string | undefined;
}

interface LeaseState {
  readonly keys: Set<string>;
  readonly listeners: ((error: Error) => void)[];
}

interface Watcher {
  readonly prefix: string;
  readonly handlers: WatchHandlers;
  closed: boolean;
}

const endpoint = 'memory://kv';

export function createMemoryKv(_options: MemoryKvOptions = {}): MemoryKv {
  const data = new Map<string, Stored>();
  const history: { revision: number; event: WatchEvent }[] = [];
  const leases = new Map<string, LeaseState>();
  const watchers = new Set<Watcher>();
  let revision = 1; // etcd starts at 1 for an empty store
  let compacted = 0;
  let nextLease = 1;
  let failures = 0;
  let down = false;
  let closed = false;

  function guard(): void {
    if (closed) throw new RolloutError('E_INTERNAL', 'memory kv used after close()');
    if (down || failures > 0) {
      if (failures > 0) failures -= 1;
      throw unreachableError(endpoint, new Error('simulated outage'));
    }
  }

  function toEntry(key: string, stored: Stored): KvEntry {
    return {
      key,
      value: stored.value,
      modRevision: stored.modRevision,
      createRevision: stored.createRevision,
      lease: stored.lease,
    };
  }

  function emit(event: WatchEvent, key: string): void {
    history.push({ revision, event });
    for (const w of watchers) {
      // Why: delivered asynchronously, like a real watch stream, so callers never re-enter mid-write.
      if (key.startsWith(w.prefix)) queueMicrotask(() => !w.closed && w.handlers.onEvent(event));
    }
  }

  function removeKey(key: string): boolean {
    const stored = data.get(key);
    if (stored === undefined) return false;
    if (stored.lease !== undefined) leases.get(stored.lease)?.keys.delete(key);
    data.delete(key);
    revision += 1;
    emit({ type: 'delete', key, modRevision: revision }, key);
    return true;
  }

  function check(key: string, expected: number | undefined): void {
    if (expected === undefined) return;
    const found = data.get(key)?.modRevision ?? 0;
    if (found !== expected) throw conflictError(key, expected, found);
  }

  /** Writes one key at the current revision (bound to a lease or not) and tells the watchers. */
  function store(key: string, value: string, leaseId: string | undefined): void {
    const previous = data.get(key);
    if (previous?.lease !== undefined) leases.get(previous.lease)?.keys.delete(key);
    const stored: Stored = {
      value,
      modRevision: revision,
      createRevision: previous?.createRevision ?? revision,
      lease: leaseId,
    };
    data.set(key, stored);
    if (leaseId !== undefined) leases.get(leaseId)?.keys.add(key);
    emit({ type: 'put', entry: toEntry(key, stored) }, key);
  }

  /** etcd's txn compares: exact modRevisions, and no put or create under a prefix since a revision. */
  function holds(condition: TxnCondition): string | undefined {
    for (const { key, modRevision } of condition.keys ?? []) {
      if ((data.get(key)?.modRevision ?? 0) !== modRevision) return key;
    }
    for (const { prefix, revision: since } of condition.unchangedSince ?? []) {
      for (const [key, stored] of data) if (key.startsWith(prefix) && stored.modRevision > since) return `${prefix}*`;
    }
    return undefined;
  }

  function dropLease(id: string, error: Error | undefined): void {
    const state = leases.get(id);
    if (state === undefined) return;
    leases.delete(id);
    for (const key of [...state.keys]) removeKey(key);
    if (error !== undefined) for (const listener of state.listeners) listener(error);
  }

  function makeLease(id: string, ttlSeconds: number): Lease {
    return {
      id,
      ttlSeconds,
      revoke: async () => {
        guard();
        dropLease(id, undefined);
      },
      onLost: (listener) => {
        leases.get(id)?.listeners.push(listener);
      },
    };
  }

  const kv: MemoryKv = {
    async get(key) {
      guard();
      const stored = data.get(key);
      return stored === undefined ? null : toEntry(key, stored);
    },
    async list(prefix) {
      guard();
      return [...data.entries()]
        .filter(([key]) => key.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, stored]) => toEntry(key, stored));
    },
    async range(prefix) {
      const entries = await kv.list(prefix);
      return { entries, revision };
    },
    async txn(condition, puts) {
      guard();
      const changed = holds(condition);
      if (changed !== undefined) throw txnConflictError(condition, changed);
      if (puts.length === 0) return revision;
      // Why: one revision for the whole transaction, as etcd gives.
      revision += 1;
      for (const { key, value } of puts) store(key, value, undefined);
      return revision;
    },
    async put(key, value, options: PutOptions = {}) {
      guard();
      check(key, options.expectModRevision);
      const leaseId = options.lease?.id;
      if (leaseId !== undefined && !leases.has(leaseId)) {
        throw leaseGoneError(key, leaseId);
      }
      revision += 1;
      store(key, value, leaseId);
      return revision;
    },
    async delete(key, options = {}) {
      guard();
      check(key, options.expectModRevision);
      return removeKey(key);
    },
    async deletePrefix(prefix) {
      guard();
      let deleted = 0;
      for (const key of [...data.keys()]) if (key.startsWith(prefix) && removeKey(key)) deleted += 1;
      return deleted;
    },
    async grantLease(ttlSeconds) {
      guard();
      const id = (nextLease++).toString(16);
      leases.set(id, { keys: new Set(), listeners: [] });
      return makeLease(id, ttlSeconds);
    },
    async watch(prefix, fromRevision, handlers): Promise<Watch> {
      guard();
      const watcher: Watcher = { prefix, handlers, closed: false };
      if (fromRevision + 1 < compacted) {
        queueMicrotask(() =>
          handlers.onResync(
            `revision ${fromRevision + 1} has been compacted (history compacted up to revision ${compacted})`,
          ),
        );
        return { close: async () => {} };
      }
      const replay = history.filter((h) => h.revision > fromRevision).map((h) => h.event);
      for (const event of replay) {
        const key = event.type === 'put' ? event.entry.key : event.key;
        if (key.startsWith(prefix)) queueMicrotask(() => !watcher.closed && handlers.onEvent(event));
      }
      watchers.add(watcher);
      return {
        close: async () => {
          watcher.closed = true;
          watchers.delete(watcher);
        },
      };
    },
    async revision() {
      guard();
      return revision;
    },
    async close() {
      closed = true;
      for (const w of watchers) w.closed = true;
      watchers.clear();
    },
    expire(leaseId) {
      dropLease(leaseId, new Error(`lease ${leaseId} expired`));
    },
    compact(rev) {
      compacted = Math.max(compacted, rev);
      history.splice(0, history.length, ...history.filter((h) => h.revision >= rev));
      // Why: a test hook for the consumer's resync path: every open watch ends as a cancelled etcd watch does.
      for (const w of [...watchers]) {
        w.closed = true;
        watchers.delete(w);
        queueMicrotask(() => w.handlers.onResync(`history compacted up to revision ${rev}`));
      }
    },
    failNext(count) {
      failures = count;
    },
    setDown(value) {
      down = value;
    },
    leases() {
      return [...leases.keys()];
    },
  };
  return kv;
}
