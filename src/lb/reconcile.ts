import type { Logger } from 'pino';
import { describeError, isRolloutError } from '../errors.js';
import type { Kv, Lease } from '../kv/kv.js';
import { poolKeyId, type PoolKey } from '../pool/types.js';
import { afterActions, backoffMs, planServer, readPoolValue, serverTarget, shouldEnterMaint } from './apply.js';
import type { HaproxyRuntime, HaproxyServerState } from './haproxy.js';
import { appliedKey, type AppliedValue } from './keys.js';
import type { LbAgentObserver } from './observe.js';

/** What the agent knows about one pool key of its datacenter. Internal to src/lb. */
export interface KeyState {
  readonly key: PoolKey;
  /** The pool value as stored; undefined once the key was deleted. */
  raw: string | undefined;
  modRevision: number;
  dirty: boolean;
  attempts: number;
  retryAtMs: number;
  /** The pool revision published as applied under the current lease. */
  published: number | undefined;
  drainingSinceMs: number | undefined;
  /** The last warning logged for this key, so a retry loop does not flood the log. */
  warned: string | undefined;
  /** When this revision was seen in etcd (apply latency starts here). */
  seenAtMs: number;
  /** The revision last reported to the observer as applied (full reconciles do not count again). */
  observed: number | undefined;
}

export interface ReconcileContext {
  readonly kv: Kv;
  readonly haproxy: HaproxyRuntime;
  readonly log: Logger;
  readonly now: () => number;
  readonly agentId: string;
  readonly backendTemplate: string;
  readonly lease: Lease | undefined;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** A server missing from HAProxy only appears after a reload: look again this often. */
  readonly missingRetryMs: number;
  readonly maintAfterMs: number;
  readonly observer: LbAgentObserver;
}

/** One pass's view of HAProxy: each backend read at most once, updated with our own changes. */
export type BackendCache = Map<string, Map<string, HaproxyServerState>>;

async function serverState(
  ctx: ReconcileContext,
  cache: BackendCache,
  backend: string,
  server: string,
): Promise<HaproxyServerState | undefined> {
  let servers = cache.get(backend);
  if (servers === undefined) {
    const list = await ctx.haproxy.showServersState(backend);
    servers = new Map(list.map((s) => [s.server, s]));
    cache.set(backend, servers);
  }
  return servers.get(server);
}

function warnOnce(ctx: ReconcileContext, state: KeyState, message: string, fields: object): void {
  const id = `${state.modRevision}:${message}`;
  if (state.warned === id) ctx.log.debug({ ...fields, key: poolKeyId(state.key) }, message);
  else ctx.log.warn({ ...fields, key: poolKeyId(state.key) }, message);
  state.warned = id;
}

/**
 * Brings HAProxy in line with one pool key and publishes the applied key.
 * Returns false when the key must be forgotten (deleted and cleaned up).
 */
export async function reconcileKey(ctx: ReconcileContext, cache: BackendCache, state: KeyState): Promise<boolean> {
  const id = poolKeyId(state.key);
  // Why: a watch event may update the state while we await HAProxy; confirm only the revision we applied.
  const { raw, modRevision: revision } = state;
  const fields = { key: id, revision };
  try {
    if (raw === undefined) {
      // Why: a deleted key says nothing about the server; touching HAProxy could depool a whole backend by mistake.
      if (state.published !== undefined && ctx.lease !== undefined)
        await ctx.kv.delete(appliedKey(ctx.agentId, state.key));
      ctx.log.warn(fields, `${id}: pool key deleted; HAProxy left as it is`);
      return false;
    }
    const desired = readPoolValue(raw);
    if (!desired.readable) {
      warnOnce(
        ctx,
        state,
        `${id}: unreadable pool value (${desired.reason}); never pooled, HAProxy left as it is, no applied key`,
        fields,
      );
      if (state.dirty && state.attempts === 0) ctx.observer.change('malformed', { revision });
      state.drainingSinceMs = undefined;
      return settle(state, revision);
    }
    const target = serverTarget(state.key, ctx.backendTemplate);
    const where = { ...fields, backend: target.backend, server: target.server };
    const current = await serverState(ctx, cache, target.backend, target.server);
    if (current === undefined) {
      warnOnce(
        ctx,
        state,
        `${id}: no server ${target.server} in HAProxy backend ${target.backend}; not applied, so rollouts waiting on this agent fail closed`,
        where,
      );
      ctx.observer.change('missing-server', { backend: target.backend, server: target.server, revision });
      state.retryAtMs = ctx.now() + ctx.missingRetryMs;
      return true;
    }
    const plan = planServer(desired, current);
    for (const action of plan.actions) {
      if (action.type === 'weight') await ctx.haproxy.setServerWeight(target.backend, target.server, action.weight);
      else await ctx.haproxy.setServerState(target.backend, target.server, action.state);
      ctx.log.info(
        { ...where, action },
        `${target.backend}/${target.server}: ${action.type === 'weight' ? `weight ${action.weight}` : `state ${action.state}`} (pool ${desired.pooled}, revision ${revision})`,
      );
    }
    cache.get(target.backend)?.set(target.server, afterActions(current, plan.actions));
    state.drainingSinceMs = plan.drainToMaint ? (state.drainingSinceMs ?? ctx.now()) : undefined;
    if (plan.confirm && state.published !== revision && ctx.lease !== undefined) {
      const value: AppliedValue = {
        revision,
        pooled: desired.pooled,
        weight: desired.weight,
        appliedAt: new Date(ctx.now()).toISOString(),
      };
      await ctx.kv.put(appliedKey(ctx.agentId, state.key), JSON.stringify(value), { lease: ctx.lease });
      state.published = revision;
      ctx.log.info(where, `${id}: applied pooled=${desired.pooled} weight=${desired.weight} (revision ${revision})`);
    }
    if (state.observed !== revision && (plan.confirm || plan.actions.length > 0)) {
      state.observed = revision;
      ctx.observer.change('applied', {
        backend: target.backend,
        server: target.server,
        latencyMs: ctx.now() - state.seenAtMs,
        revision,
        pooled: desired.pooled,
        weight: desired.weight,
      });
    }
    // Why: without a lease nothing could be published; stay dirty so registration retries publish it.
    if (ctx.lease === undefined && plan.confirm) return scheduleRetry(ctx, state);
    return settle(state, revision);
  } catch (error) {
    if (isRolloutError(error, 'E_HAPROXY')) {
      cache.clear();
      ctx.observer.haproxyError();
    }
    ctx.observer.change('failed', { revision });
    state.attempts += 1;
    ctx.log.warn(
      { ...fields, err: describeError(error), attempt: state.attempts },
      `${id}: could not apply (${describeError(error)}); retrying`,
    );
    return scheduleRetry(ctx, state);
  }
}

function settle(state: KeyState, revision: number): true {
  // Why: a newer value arrived meanwhile: stay dirty so the next pass applies it.
  if (state.modRevision !== revision) return true;
  state.dirty = false;
  state.attempts = 0;
  state.retryAtMs = 0;
  return true;
}

function scheduleRetry(ctx: ReconcileContext, state: KeyState): true {
  state.retryAtMs = ctx.now() + backoffMs(Math.max(1, state.attempts), ctx.retryBaseMs, ctx.retryMaxMs);
  return true;
}

/** Moves drained servers to maint once idle (or after the bound). Errors are retried next tick. */
export async function advanceDraining(ctx: ReconcileContext, states: Iterable<KeyState>): Promise<void> {
  for (const state of states) {
    if (state.drainingSinceMs === undefined || state.dirty) continue;
    const target = serverTarget(state.key, ctx.backendTemplate);
    try {
      const sessions = await ctx.haproxy.serverSessions(target.backend, target.server);
      if (
        !shouldEnterMaint({
          sessions,
          drainingSinceMs: state.drainingSinceMs,
          nowMs: ctx.now(),
          maintAfterMs: ctx.maintAfterMs,
        })
      )
        continue;
      await ctx.haproxy.setServerState(target.backend, target.server, 'maint');
      state.drainingSinceMs = undefined;
      ctx.log.info(
        { key: poolKeyId(state.key), backend: target.backend, server: target.server, sessions },
        `${target.backend}/${target.server}: state maint (drained, ${sessions} sessions left)`,
      );
    } catch (error) {
      ctx.log.warn(
        { key: poolKeyId(state.key), err: describeError(error) },
        `${target.backend}/${target.server}: could not move to maint (${describeError(error)}); retrying`,
      );
    }
  }
}
