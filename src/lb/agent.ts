import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import type { Kv, Lease, Watch, WatchEvent } from '../kv/kv.js';
import type { PoolFeed } from '../pool/etcd-v2-watch.js';
import { DEFAULT_BACKEND_TEMPLATE, backoffMs, validateBackendTemplate } from './apply.js';
import type { HaproxyRuntime } from './haproxy.js';
import { agentKey, type AgentRegistration } from './keys.js';
import { poolDcPrefix, poolKeyFromPath } from './pool-path.js';
import { advanceDraining, reconcileKey, type BackendCache, type KeyState, type ReconcileContext } from './reconcile.js';
import { createWaker } from './waker.js';
import { noObserver, type LbAgentObserver } from './observe.js';

/** Side effects of the agent, passed in (STYLE.md). */
export interface LbAgentDeps {
  readonly kv: Kv;
  /** Where the pool keys are read and watched; `kv` unless told (etcd.poolApi v2: createV2PoolFeed). */
  readonly pool?: PoolFeed;
  readonly haproxy: HaproxyRuntime;
  readonly log: Logger;
  /** Resolves after ms, or rejects when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Health and metrics reports; none unless given. */
  readonly observer?: LbAgentObserver;
}

export interface LbAgentOptions {
  readonly dc: string;
  /** conftool pool prefix, e.g. `/conftool/v1/pools`. */
  readonly prefix: string;
  readonly agentId: string;
  /** Recorded in the registration, for operators. */
  readonly haproxySocket: string;
  /** Registration and applied keys live on a lease of this TTL. Default 10. */
  readonly leaseTtlSeconds?: number;
  readonly signal: AbortSignal;
  /** Backend name from the pool key; placeholders {dc} {cluster} {service} {host}. Default `{dc}_{cluster}`. */
  readonly backendTemplate?: string;
  /** Longest idle wait between passes. Default 1000. */
  readonly tickMs?: number;
  /** Re-check every key against HAProxy this often (HAProxy reloads forget runtime changes). Default 30000. */
  readonly fullReconcileMs?: number;
  /** A drained server goes to maint when idle or after this long. Default 60000. */
  readonly maintAfterMs?: number;
  /** Backoff of HAProxy and etcd retries. Defaults 500 and 10000. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** How often a server missing from HAProxy is looked for again. Default 30000. */
  readonly missingRetryMs?: number;
}

/**
 * Follows the pool state of one datacenter in etcd and applies it to HAProxy, confirming each
 * applied change under a lease. Resolves once `signal` aborts, after revoking the lease.
 */
export async function runLbAgent(deps: LbAgentDeps, options: LbAgentOptions): Promise<void> {
  const backendTemplate = options.backendTemplate ?? DEFAULT_BACKEND_TEMPLATE;
  validateBackendTemplate(backendTemplate);
  const { kv, log } = deps;
  const feed = deps.pool ?? kv;
  const observer = deps.observer ?? noObserver;
  const { signal } = options;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 10_000;
  const tickMs = options.tickMs ?? 1000;
  const fullReconcileMs = options.fullReconcileMs ?? 30_000;
  const watchPrefix = poolDcPrefix(options.prefix, options.dc);
  const states = new Map<string, KeyState>();
  const waker = createWaker(deps.sleep);
  const onAbort = (): void => waker.wake();
  signal.addEventListener('abort', onAbort, { once: true });

  let lease: Lease | undefined;
  let leaseLost = false;
  let watch: Watch | undefined;
  let watchGeneration = 0;
  let needResync = true;
  let etcdAttempts = 0;
  let etcdRetryAtMs = 0;
  let nextFullReconcileMs = deps.now() + fullReconcileMs;

  const markAllDirty = (): void => {
    for (const state of states.values()) state.dirty = true;
  };

  const upsert = (path: string, raw: string | undefined, modRevision: number): void => {
    const key = poolKeyFromPath(options.prefix, path);
    if (key === undefined || key.dc !== options.dc)
      return void log.debug({ path }, `ignoring ${path}: not <prefix>/<dc>/<cluster>/<service>/<host>`);
    const state = states.get(path);
    if (state !== undefined && state.modRevision >= modRevision) return; // replayed or older
    if (state === undefined) {
      if (raw === undefined) return;
      states.set(path, {
        key,
        raw,
        modRevision,
        dirty: true,
        attempts: 0,
        retryAtMs: 0,
        published: undefined,
        drainingSinceMs: undefined,
        warned: undefined,
        seenAtMs: deps.now(),
        observed: undefined,
      });
    } else {
      Object.assign(state, { raw, modRevision, dirty: true, attempts: 0, retryAtMs: 0, seenAtMs: deps.now() });
    }
  };

  const onEvent = (generation: number, event: WatchEvent): void => {
    if (generation !== watchGeneration) return;
    if (event.type === 'put') upsert(event.entry.key, event.entry.value, event.entry.modRevision);
    else upsert(event.key, undefined, event.modRevision);
    waker.wake();
  };

  const register = async (): Promise<void> => {
    const fresh = await kv.grantLease(options.leaseTtlSeconds ?? 10);
    fresh.onLost((error) => {
      if (lease !== fresh) return;
      log.warn(
        { err: describeError(error) },
        `lb-agent ${options.agentId}: lease lost (${describeError(error)}); registering again`,
      );
      leaseLost = true;
      observer.registered(false);
      waker.wake();
    });
    const registration: AgentRegistration = {
      agentId: options.agentId,
      machine: hostname(),
      pid: process.pid,
      startedAt: new Date(deps.now()).toISOString(),
      haproxySocket: options.haproxySocket,
    };
    try {
      await kv.put(agentKey(options.dc, options.agentId), JSON.stringify(registration), { lease: fresh });
    } catch (error) {
      await fresh.revoke().catch(() => undefined);
      throw error;
    }
    lease = fresh;
    leaseLost = false;
    observer.registered(true);
    // Why: keys published under the old lease are gone (or soon will be): publish everything again.
    for (const state of states.values()) state.published = undefined;
    markAllDirty();
    log.info(
      { dc: options.dc, agentId: options.agentId, lease: fresh.id },
      `lb-agent ${options.agentId}: registered for ${options.dc}`,
    );
  };

  const resync = async (): Promise<void> => {
    const restart = watch !== undefined || watchGeneration > 0;
    needResync = false;
    watchGeneration += 1;
    const generation = watchGeneration;
    await watch?.close().catch(() => undefined);
    watch = undefined;
    // Why: revision before list, so no change can fall between the list and the watch (replays are ignored).
    const revision = await feed.revision();
    const entries = await feed.list(watchPrefix);
    const seen = new Set(entries.map((e) => e.key));
    for (const entry of entries) upsert(entry.key, entry.value, entry.modRevision);
    for (const [path, state] of states)
      if (!seen.has(path) && state.raw !== undefined) Object.assign(state, { raw: undefined, dirty: true });
    markAllDirty();
    watch = await feed.watch(watchPrefix, revision, {
      onEvent: (event) => onEvent(generation, event),
      onResync: (reason) => {
        if (generation !== watchGeneration) return;
        log.warn({ reason }, `lb-agent ${options.agentId}: watch on ${watchPrefix} must resynchronise (${reason})`);
        needResync = true;
        observer.watching(false);
        waker.wake();
      },
    });
    observer.watching(true);
    observer.resynced(restart);
    log.info(
      { keys: entries.length, revision },
      `lb-agent ${options.agentId}: synchronised ${entries.length} pool keys under ${watchPrefix} at revision ${revision}`,
    );
  };

  const etcdStep = async (): Promise<void> => {
    if (deps.now() < etcdRetryAtMs) return;
    try {
      if (lease === undefined || leaseLost) await register();
      if (needResync) await resync();
      etcdAttempts = 0;
    } catch (error) {
      needResync = needResync || watch === undefined;
      if (needResync) observer.watching(false);
      etcdAttempts += 1;
      etcdRetryAtMs = deps.now() + backoffMs(etcdAttempts, retryBaseMs, retryMaxMs);
      log.warn(
        { err: describeError(error), attempt: etcdAttempts },
        `lb-agent ${options.agentId}: etcd step failed (${describeError(error)}); retrying`,
      );
    }
  };

  const reconcilePass = async (): Promise<void> => {
    // Why: readiness needs "the last reconcile succeeded": count the keys this pass could not apply.
    let failed = 0;
    const ctx: ReconcileContext = {
      kv,
      haproxy: deps.haproxy,
      log,
      now: deps.now,
      agentId: options.agentId,
      backendTemplate,
      lease: leaseLost ? undefined : lease,
      retryBaseMs,
      retryMaxMs,
      missingRetryMs: options.missingRetryMs ?? 30_000,
      maintAfterMs: options.maintAfterMs ?? 60_000,
      observer: {
        ...observer,
        change: (result, detail) => {
          if (result === 'failed') failed += 1;
          observer.change(result, detail);
        },
      },
    };
    if (deps.now() >= nextFullReconcileMs) {
      markAllDirty();
      nextFullReconcileMs = deps.now() + fullReconcileMs;
    }
    const cache: BackendCache = new Map();
    for (const [path, state] of states) {
      if (signal.aborted) return;
      if (!state.dirty || state.retryAtMs > deps.now()) continue;
      // Why: the key may have been created again while its deletion was being cleaned up.
      if (!(await reconcileKey(ctx, cache, state)) && state.raw === undefined) states.delete(path);
    }
    await advanceDraining(ctx, states.values());
    observer.reconciled(failed === 0, failed === 0 ? undefined : `${failed} pool key(s) could not be applied`);
    let applied = 0;
    let store = 0;
    for (const state of states.values()) {
      store = Math.max(store, state.modRevision);
      if (!state.dirty) applied = Math.max(applied, state.modRevision);
    }
    observer.revisions(applied, store);
  };

  log.info(
    { dc: options.dc, agentId: options.agentId, prefix: watchPrefix, socket: deps.haproxy.socketPath, backendTemplate },
    `lb-agent ${options.agentId}: following ${watchPrefix} into HAProxy ${deps.haproxy.socketPath}`,
  );
  try {
    while (!signal.aborted) {
      observer.loop(deps.now());
      try {
        await etcdStep();
        await reconcilePass();
      } catch (error) {
        // Why: an agent that dies leaves its LB frozen; log and go on.
        log.error(
          { err: describeError(error) },
          `lb-agent ${options.agentId}: unexpected error (${describeError(error)})`,
        );
      }
      await waker.wait(tickMs);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    watchGeneration += 1;
    await watch?.close().catch(() => undefined);
    // Why: revoking removes the registration and every applied key at once, so rollouts stop waiting on us.
    observer.registered(false);
    await lease
      ?.revoke()
      .catch((error: unknown) =>
        log.warn(
          { err: describeError(error) },
          `lb-agent ${options.agentId}: could not revoke lease (${describeError(error)}); its keys expire with the TTL`,
        ),
      );
    log.info({ agentId: options.agentId }, `lb-agent ${options.agentId}: stopped`);
  }
}
