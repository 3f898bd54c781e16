import type { Clock } from '../deps.js';
import { describeError, RolloutError } from '../errors.js';
import { describeMatcher, renderMatcher, renderText, type MatcherTemplate } from './matchers.js';
import type { AlertmanagerApi, HostSilences, SilenceSpec, SilenceTarget } from './types.js';

/** Who the run is, for the silence's createdBy and comment. */
export interface SilenceRun {
  readonly runId: string;
  readonly user: string;
  readonly machine: string;
  readonly command: string;
  readonly reason: string;
}

export interface HostSilencesOptions {
  readonly api: AlertmanagerApi;
  readonly matchers: readonly MatcherTemplate[];
  /** Template; the host's placeholders plus {runId} {user} {machine} {command} {reason}. */
  readonly comment: string;
  readonly ttlSeconds: number;
  readonly required: boolean;
  readonly run: SilenceRun;
  readonly clock: Clock;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A silence that could not be extended or expired: said, never fatal. */
  onWarning(message: string): void;
}

/** How a run's silences are recognised later (`rollout recover`): their createdBy ends with this. */
export function runTag(runId: string): string {
  return `(rollout run ${runId})`;
}

interface Held {
  id: string;
  spec: SilenceSpec;
}

/**
 * The silence lifecycle of one run. Each silence ends at now + ttl, never later; a keeper extends
 * those of hosts in flight once half their ttl is gone, so a crashed run's silences lapse by
 * themselves within ttl.
 */
export function createHostSilences(options: HostSilencesOptions): HostSilences & { extendDue(): Promise<void> } {
  const ttlMs = options.ttlSeconds * 1000;
  const held = new Map<string, Held>();
  const pending = new Map<string, Promise<void>>();
  const goneWithout = new Set<string>();
  const stop = new AbortController();
  let keeper: Promise<void> | undefined;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const runVars = { ...options.run };

  async function create(target: SilenceTarget): Promise<void> {
    const vars = { ...target.vars, ...runVars };
    const matchers = options.matchers.map((m) => renderMatcher(m, vars));
    const now = options.clock.now();
    const spec: SilenceSpec = {
      matchers,
      startsAt: iso(now),
      endsAt: iso(now + ttlMs),
      createdBy: `${options.run.user}@${options.run.machine} ${runTag(options.run.runId)}`,
      comment: renderText(options.comment, vars),
    };
    try {
      held.set(target.host, { id: await options.api.post(spec), spec });
    } catch (error) {
      throw new RolloutError(
        'E_ALERTS',
        `${target.host}: no alert silence (${matchers.map(describeMatcher).join(', ')}): ${describeError(error)}`,
        { host: target.host, cause: error },
      );
    }
    keeper ??= keep();
  }

  async function extendDue(): Promise<void> {
    const now = options.clock.now();
    for (const [host, h] of held) {
      if (Date.parse(h.spec.endsAt) - now > ttlMs / 2) continue;
      try {
        // Why: Alertmanager updates in place only if the start is unchanged (to the second), and it keeps its own clock's start for one posted in the past.
        const startsAt = (await options.api.get(h.id))?.startsAt || h.spec.startsAt;
        const spec = { ...h.spec, startsAt, endsAt: iso(now + ttlMs) };
        const id = await options.api.post(spec, h.id);
        // Why: the host may have finished (and its silence expired) while the extension was on its way.
        if (held.get(host) === h) held.set(host, { id, spec });
        else if (id !== h.id) await options.api.expire(id).catch(() => undefined);
      } catch (error) {
        options.onWarning(
          `${host}: could not extend its alert silence ${h.id} (${describeError(error)}); it lapses at ${h.spec.endsAt} unless a retry succeeds`,
        );
      }
    }
  }

  async function keep(): Promise<void> {
    const tick = Math.min(60_000, Math.max(1000, ttlMs / 4));
    while (!stop.signal.aborted) {
      try {
        await options.sleep(tick, stop.signal);
      } catch {
        return;
      }
      await extendDue();
    }
  }

  return {
    required: options.required,
    holds: (host) => held.has(host),
    async hold(target) {
      // Why: without alerts.required, a host whose silence was refused once goes on without one (one warning, not one per step).
      if (held.has(target.host) || goneWithout.has(target.host)) return;
      const running = pending.get(target.host) ?? create(target).finally(() => pending.delete(target.host));
      pending.set(target.host, running);
      await running.catch((error: unknown) => {
        if (!options.required) goneWithout.add(target.host);
        throw error;
      });
    },
    async release(host) {
      const h = held.get(host);
      if (h === undefined) return undefined;
      held.delete(host);
      try {
        await options.api.expire(h.id);
        return undefined;
      } catch (error) {
        return `${host}: could not expire its alert silence ${h.id} (${describeError(error)}); it lapses by itself at ${h.spec.endsAt}`;
      }
    },
    abandon(host) {
      const h = held.get(host);
      held.delete(host);
      return h?.spec.endsAt;
    },
    extendDue,
    async close() {
      stop.abort();
      await keeper;
      // Why: hosts silenced but never touched (their batch stopped before its depool) are in no danger.
      for (const host of [...held.keys()]) {
        const warning = await this.release(host);
        if (warning !== undefined) options.onWarning(warning);
      }
    },
  };
}
