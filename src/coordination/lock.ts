import { RolloutError, isRolloutError } from '../errors.js';
import type { Kv, Lease } from '../kv/kv.js';
import { LOCKS_PREFIX, lockKey } from './keys.js';

/** Who holds a cluster lock: the value of `/rollout/v1/locks/<dc>/<cluster>`. */
export interface LockHolder {
  readonly user: string;
  readonly machine: string;
  readonly pid: number;
  /** e.g. "rollout sync". */
  readonly command: string;
  readonly runId: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly reason: string;
}

/** The locks one run holds, all bound to one lease. */
export interface RunLocks {
  readonly lease: Lease;
  readonly keys: readonly string[];
  /**
   * Every lock key at the revision this run created it: a write that compares them applies only
   * while this run still holds its locks (an expired lease deletes them; a new holder recreates them).
   */
  readonly fence: readonly { readonly key: string; readonly modRevision: number }[];
  /** Revokes the lease, which deletes every lock key. If etcd is unreachable the keys go at lease expiry. */
  release(): Promise<void>;
  /** The lease was lost (keepalive failed): the run no longer holds its locks and must stop writing. */
  onLost(listener: (error: Error) => void): void;
}

export interface ClusterRef {
  readonly dc: string;
  readonly cluster: string;
}

export interface AcquireLocksOptions {
  /** Lease TTL; 10 s unless told. A killed holder's locks vanish this long after its last keepalive. */
  readonly ttlSeconds?: number;
  /** Poll for this long while a lock is held; 0 (fail at once) unless told. */
  readonly waitSeconds?: number;
  /** How often to poll while waiting; 1000 ms unless told. */
  readonly pollMs?: number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  now(): number;
  readonly signal?: AbortSignal;
}

export interface LockInfo {
  readonly dc: string;
  readonly cluster: string;
  readonly key: string;
  /** null when the value is not a LockHolder (written by something else). */
  readonly holder: LockHolder | null;
  readonly lease: string | undefined;
}

/** Reads a lock value; null when it is not a LockHolder. */
export function parseLockHolder(raw: string): LockHolder | null {
  try {
    const value = JSON.parse(raw) as Partial<Record<keyof LockHolder, unknown>> | null;
    if (typeof value !== 'object' || value === null) return null;
    const { user, machine, pid, command, runId, startedAt, reason } = value;
    if (typeof user !== 'string' || typeof machine !== 'string' || typeof pid !== 'number') return null;
    if (typeof command !== 'string' || typeof runId !== 'string' || typeof startedAt !== 'string') return null;
    return { user, machine, pid, command, runId, startedAt, reason: typeof reason === 'string' ? reason : '' };
  } catch {
    return null;
  }
}

/** "alice@deploy1 pid 4242 (rollout sync, run r-1, since …)" */
export function describeHolder(holder: LockHolder | null): string {
  if (holder === null) return 'an unknown holder (the lock value is not rollout JSON)';
  const why = holder.reason === '' ? '' : `, reason: ${holder.reason}`;
  return `${holder.user}@${holder.machine} pid ${holder.pid} (${holder.command}, run ${holder.runId}, since ${holder.startedAt}${why})`;
}

type Taken = readonly { readonly key: string; readonly modRevision: number }[];

/** Tries to create every lock; on the first one held, gives back what it took and names the holder. */
async function tryAll(
  kv: Kv,
  targets: readonly ClusterRef[],
  holder: LockHolder,
  lease: Lease,
): Promise<
  | { readonly ok: false; held: ClusterRef; by: LockHolder | null; freed: boolean }
  | { readonly ok: true; readonly taken: Taken }
> {
  const taken: { key: string; revision: number }[] = [];
  for (const target of targets) {
    const key = lockKey(target.dc, target.cluster);
    try {
      taken.push({ key, revision: await kv.put(key, JSON.stringify(holder), { expectModRevision: 0, lease }) });
    } catch (error) {
      // Why: all-or-nothing, so two runs over overlapping clusters never each hold half.
      for (const own of taken) await kv.delete(own.key, { expectModRevision: own.revision }).catch(() => undefined);
      if (!isRolloutError(error, 'E_POOL_CONFLICT')) throw error;
      const current = await kv.get(key);
      return {
        ok: false,
        held: target,
        by: current === null ? null : parseLockHolder(current.value),
        freed: current === null,
      };
    }
  }
  return { ok: true, taken: taken.map(({ key, revision }) => ({ key, modRevision: revision })) };
}

/** Takes one lease-bound lock per (dc, cluster), all or none, waiting up to waitSeconds for held ones. */
export async function acquireLocks(
  kv: Kv,
  clusters: readonly ClusterRef[],
  holder: LockHolder,
  options: AcquireLocksOptions,
): Promise<RunLocks> {
  const unique = new Map(clusters.map((c) => [lockKey(c.dc, c.cluster), c]));
  // Why: a fixed order means two waiting runs contend on the same first key instead of deadlocking.
  const targets = [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
  const waitSeconds = options.waitSeconds ?? 0;
  const deadline = options.now() + waitSeconds * 1000;
  const lease = await kv.grantLease(options.ttlSeconds ?? 10);
  let fence: Taken;
  try {
    for (;;) {
      const blocked = await tryAll(kv, targets, holder, lease);
      if (blocked.ok) {
        fence = blocked.taken;
        break;
      }
      if (blocked.freed) continue; // released between our write and our read: try again now
      if (options.now() >= deadline) {
        const key = lockKey(blocked.held.dc, blocked.held.cluster);
        const waited = waitSeconds > 0 ? `, still held after waiting ${waitSeconds}s` : '';
        throw new RolloutError(
          'E_LOCKED',
          `${blocked.held.cluster}@${blocked.held.dc} is locked by ${describeHolder(blocked.by)}${waited}: wait for it or use --wait-lock SECONDS`,
          { key },
        );
      }
      await options.sleep(Math.min(options.pollMs ?? 1000, Math.max(0, deadline - options.now())), options.signal);
    }
  } catch (error) {
    await lease.revoke().catch(() => undefined);
    throw error;
  }
  return {
    lease,
    keys: targets.map((t) => lockKey(t.dc, t.cluster)),
    fence,
    release: () => lease.revoke(),
    onLost: (listener) => lease.onLost(listener),
  };
}

/** Every lock currently held, sorted by key. */
export async function listLocks(kv: Kv): Promise<LockInfo[]> {
  const entries = await kv.list(LOCKS_PREFIX);
  const locks: LockInfo[] = [];
  for (const entry of entries) {
    const [dc, cluster, ...rest] = entry.key.slice(LOCKS_PREFIX.length).split('/');
    if (dc === undefined || cluster === undefined || rest.length > 0) continue;
    locks.push({ dc, cluster, key: entry.key, holder: parseLockHolder(entry.value), lease: entry.lease });
  }
  return locks;
}
