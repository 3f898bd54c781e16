import { RolloutError, isRolloutError } from '../errors.js';
import type { Kv, KvEntry, Lease } from '../kv/kv.js';
import { SLOTS_PREFIX } from './keys.js';

/**
 * A counting semaphore in etcd (etcd's queue/semaphore recipe, what poolcounter does for
 * Wikimedia): a request is one lease-bound key under its scope, weighted by its hosts; requests
 * are served in create-revision order, and one is granted once it and everything ahead of it fit
 * in the limit. A dead run's lease takes its keys, so its slots free themselves.
 */

/** The value of a request key: who asks, for which hosts, under which limit. */
export interface SlotHolder {
  readonly runId: string;
  readonly user: string;
  readonly machine: string;
  readonly pid: number;
  readonly dc: string;
  readonly cluster: string;
  /** The hosts still holding a slot; the key's weight. */
  readonly hosts: readonly string[];
  /** The limit this request was made under: what `rollout status` judges it by. */
  readonly limit: number;
  /** ISO 8601. */
  readonly since: string;
}

/** One request in a scope's queue, in order. */
export interface SlotEntry {
  readonly key: string;
  readonly scope: string;
  /** null when the value is not rollout JSON: it still counts one slot. */
  readonly holder: SlotHolder | null;
  readonly weight: number;
  readonly createRevision: number;
  /** Everything ahead of it and itself fit in its limit. */
  readonly granted: boolean;
}

/** What a waiting request sees: the granted requests ahead of it. */
export interface SlotWait {
  readonly scope: string;
  readonly limit: number;
  readonly held: number;
  readonly holders: readonly SlotEntry[];
  /** Requests ahead of this one that wait too. */
  readonly queuedAhead: number;
}

/** The slots one request holds; each host gives its own back. */
export interface SlotGrant {
  readonly key: string;
  release(host: string): Promise<void>;
  releaseAll(): Promise<void>;
}

export interface SlotRequest {
  /** Path segments of the scope, e.g. `dc-service/eqiad/php-fpm`. */
  readonly scope: string;
  readonly holder: SlotHolder;
}

export interface RestartSlots {
  /** Waits (FIFO) until the request fits; calls onWait when it has to wait and when what it waits on changes. */
  acquire(request: SlotRequest, onWait: (wait: SlotWait) => void, signal: AbortSignal): Promise<SlotGrant>;
}

export interface RestartSlotsOptions {
  /** The run's lease: a run that dies frees its slots within its TTL. */
  readonly lease: Lease;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A re-read in case a watch event is missed; 2000 ms unless told. */
  readonly pollMs?: number;
}

export function scopePrefix(scope: string): string {
  return `${SLOTS_PREFIX}${scope}/`;
}

export function parseSlotHolder(raw: string): SlotHolder | null {
  try {
    const v = JSON.parse(raw) as Partial<Record<keyof SlotHolder, unknown>> | null;
    if (typeof v !== 'object' || v === null) return null;
    const { runId, user, machine, pid, dc, cluster, hosts, limit, since } = v;
    if (typeof runId !== 'string' || typeof user !== 'string' || typeof machine !== 'string' || typeof pid !== 'number')
      return null;
    if (typeof dc !== 'string' || typeof cluster !== 'string' || typeof limit !== 'number' || typeof since !== 'string')
      return null;
    if (!Array.isArray(hosts) || !hosts.every((h): h is string => typeof h === 'string')) return null;
    return { runId, user, machine, pid, dc, cluster, hosts, limit, since };
  } catch {
    return null;
  }
}

/** The queue of one scope, oldest request first, each marked granted or not. */
export function queueOf(scope: string, entries: readonly KvEntry[]): SlotEntry[] {
  const sorted = [...entries].sort((a, b) => a.createRevision - b.createRevision);
  let ahead = 0;
  return sorted.map((e) => {
    const holder = parseSlotHolder(e.value);
    const weight = Math.max(1, holder?.hosts.length ?? 1);
    // Why: the head of the queue always goes, so a request wider than the limit cannot wait forever.
    const granted = ahead === 0 || ahead + weight <= (holder?.limit ?? Number.POSITIVE_INFINITY);
    ahead += weight;
    return { key: e.key, scope, holder, weight, createRevision: e.createRevision, granted };
  });
}

/** Every request of every scope, grouped by scope, for `rollout status`. */
export async function listSlots(kv: Kv): Promise<Map<string, SlotEntry[]>> {
  const byScope = new Map<string, KvEntry[]>();
  for (const e of await kv.list(SLOTS_PREFIX)) {
    const scope = e.key.slice(SLOTS_PREFIX.length, e.key.lastIndexOf('/'));
    byScope.set(scope, [...(byScope.get(scope) ?? []), e]);
  }
  return new Map([...byScope].map(([scope, entries]) => [scope, queueOf(scope, entries)]));
}

/** "run 20261202T0400Z-ab12cd (alice@deploy1: mw1, mw2)" */
export function describeSlotHolder(entry: SlotEntry): string {
  const h = entry.holder;
  return h === null
    ? `${entry.key} (not rollout JSON)`
    : `run ${h.runId} (${h.user}@${h.machine}: ${h.hosts.join(', ')})`;
}

export function createRestartSlots(kv: Kv, options: RestartSlotsOptions): RestartSlots {
  let sequence = 0;
  return {
    async acquire(request, onWait, signal) {
      sequence += 1;
      const prefix = scopePrefix(request.scope);
      const key = `${prefix}${request.holder.runId}.${sequence}`;
      let revision = await kv.put(key, JSON.stringify(request.holder), { expectModRevision: 0, lease: options.lease });
      try {
        await waitTurn(kv, request, key, onWait, signal, options);
      } catch (error) {
        await kv.delete(key).catch(() => undefined);
        throw error;
      }
      let hosts = [...request.holder.hosts];
      let chain = Promise.resolve();
      // Why: hosts finish concurrently; one write at a time keeps the compare on our own last revision.
      const update = (next: string[]): Promise<void> =>
        (chain = chain.then(async () => {
          if (revision === 0) return;
          hosts = next;
          try {
            if (hosts.length === 0) {
              await kv.delete(key, { expectModRevision: revision });
              revision = 0;
            } else
              revision = await kv.put(key, JSON.stringify({ ...request.holder, hosts }), {
                expectModRevision: revision,
                lease: options.lease,
              });
          } catch (error) {
            // The key is gone (lease expired): nothing left to give back.
            if (!isRolloutError(error, 'E_POOL_CONFLICT')) throw error;
            revision = 0;
          }
        }));
      return {
        key,
        release: (host) => (hosts.includes(host) ? update(hosts.filter((h) => h !== host)) : chain),
        releaseAll: () => update([]),
      };
    },
  };
}

async function waitTurn(
  kv: Kv,
  request: SlotRequest,
  key: string,
  onWait: (wait: SlotWait) => void,
  signal: AbortSignal,
  options: RestartSlotsOptions,
): Promise<void> {
  const prefix = scopePrefix(request.scope);
  let said = '';
  for (;;) {
    const range = await kv.range(prefix);
    const queue = queueOf(request.scope, range.entries);
    const index = queue.findIndex((e) => e.key === key);
    const mine = queue[index];
    if (mine === undefined)
      throw new RolloutError('E_LOCK_LOST', `restart slot ${key} vanished while waiting (the run's lease expired)`, {
        key,
      });
    if (mine.granted) return;
    const ahead = queue.slice(0, index);
    const holders = ahead.filter((e) => e.granted);
    const wait: SlotWait = {
      scope: request.scope,
      limit: request.holder.limit,
      held: holders.reduce((n, e) => n + e.weight, 0),
      holders,
      queuedAhead: ahead.length - holders.length,
    };
    const text = JSON.stringify([wait.held, wait.queuedAhead, holders.map((h) => h.key)]);
    if (text !== said) onWait(wait);
    said = text;
    if (signal.aborted)
      throw new RolloutError('E_INTERRUPTED', 'interrupted while waiting for a restart slot', { key });
    await changeOrTimeout(kv, prefix, range.revision, signal, options);
  }
}

/** Resolves on the scope's next change after `revision`, after pollMs at the latest, or on abort. */
async function changeOrTimeout(
  kv: Kv,
  prefix: string,
  revision: number,
  signal: AbortSignal,
  options: RestartSlotsOptions,
): Promise<void> {
  const local = new AbortController();
  const both = AbortSignal.any([signal, local.signal]);
  let wake: () => void = () => undefined;
  const changed = new Promise<void>((resolve) => (wake = resolve));
  const watch = await kv.watch(prefix, revision, { onEvent: () => wake(), onResync: () => wake() }).catch(() => null);
  try {
    await Promise.race([changed, options.sleep(options.pollMs ?? 2000, both).catch(() => undefined)]);
  } finally {
    local.abort();
    await watch?.close().catch(() => undefined);
  }
}
