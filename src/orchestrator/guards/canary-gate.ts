import { describeError } from '../../errors.js';
import {
  delta,
  describeSource,
  ratio,
  sum,
  type BackendCounts,
  type ResponseCounts,
  type StatsSource,
} from '../../health/haproxy-stats.js';
import type { HaproxyStatsGate, InventoryCluster } from '../../inventory/types.js';
import type { GateCheck } from '../../report/events.js';
import { renderCommand, renderUrl } from '../../transport/template.js';
import type { HostRun } from '../host-run.js';
import type { StepContext } from '../step-context.js';

/** A cluster's canary, from its start: `afterCanaries` soaks, judges and says whether the rest may go. */
export interface CanaryWatch {
  /** Set when the gate cannot work (its stats unreadable before the run): the cluster starts nothing. */
  readonly blocked: string | undefined;
  afterCanaries(runs: readonly HostRun[]): Promise<boolean>;
}

const pct = (r: number): string => `${(r * 100).toFixed(2)}%`;
const counts = (c: ResponseCounts): string => `${pct(ratio(c))} (${c.errors5xx}/${c.responses})`;

/**
 * Returns undefined when the cluster has no canary batch in this plan. Reads the HAProxy
 * baseline now, before any of the cluster's hosts is touched: "the ratio before the run".
 */
export async function startCanary(
  ctx: StepContext,
  cluster: InventoryCluster,
  canary: readonly string[] | undefined,
): Promise<CanaryWatch | undefined> {
  const settings = cluster.settings.canary;
  if (settings === undefined || canary === undefined || ctx.options.emergency) return undefined;
  const stats = settings.gate.haproxyStats;
  const timeoutMs = settings.gate.timeoutSeconds * 1000;
  const read = (s: HaproxyStatsGate): Promise<BackendCounts> => {
    if (ctx.deps.canary === undefined)
      return Promise.reject(new Error('no canary probes were wired (a bug in rollout)'));
    return ctx.deps.canary.backendCounts(sourceOf(s), backendOf(s, cluster), timeoutMs);
  };
  const baseline =
    stats === undefined || ctx.options.canaryGate?.skip
      ? undefined
      : await read(stats).catch((error: unknown) => error as Error);
  const where = { dc: cluster.dc, cluster: cluster.name };
  // Why: a gate that cannot read its stats would fail after the canaries restarted; say so before touching any host.
  const blocked =
    baseline instanceof Error && stats
      ? `could not read the HAProxy stats of ${describeSource(sourceOf(stats))} before the run: ${describeError(baseline)}; nothing of ${cluster.name}@${cluster.dc} was restarted (fix canary.gate.haproxyStats, or --skip-canary-gate)`
      : undefined;
  if (blocked !== undefined)
    ctx.emit({
      event: 'canary.failed',
      ...where,
      hosts: [...canary],
      checks: [{ gate: 'haproxyStats', ok: false, detail: blocked, figures: {} }],
    });
  return {
    blocked,
    async afterCanaries(runs) {
      const done = runs.filter((r) => r.state === 'done');
      const hosts = runs.map((r) => r.name);
      if (ctx.options.canaryGate?.skip) {
        ctx.emit({ event: 'canary.skipped', ...where, hosts, reason: '--skip-canary-gate' });
        return true;
      }
      if (done.length === 0) {
        ctx.emit({
          event: 'canary.failed',
          ...where,
          hosts,
          checks: [
            {
              gate: stats ? 'haproxyStats' : settings.gate.command ? 'command' : 'url',
              ok: false,
              detail: 'no canary was restarted and repooled, so there is nothing to judge',
              figures: {},
            },
          ],
        });
        return false;
      }
      const before = stats === undefined ? undefined : await read(stats).catch((error: unknown) => error as Error);
      const since = new Date(ctx.deps.clock.now()).toISOString();
      ctx.emit({ event: 'canary.soaking', ...where, hosts: done.map((r) => r.name), seconds: settings.soakSeconds });
      try {
        await ctx.deps.sleep(settings.soakSeconds * 1000, ctx.options.stop);
      } catch {
        return true; // interrupted: the run's own stop check ends the cluster
      }
      const checks: GateCheck[] = [];
      if (stats !== undefined) {
        const after = await read(stats).catch((error: unknown) => error as Error);
        checks.push(
          judgeStats(
            stats,
            baseline,
            before,
            after,
            done.map((r) => r.name),
            settings.soakSeconds,
          ),
        );
      }
      const vars = {
        dc: cluster.dc,
        cluster: cluster.name,
        release: ctx.options.release ?? '',
        hosts: done.map((r) => r.name).join(','),
        since,
        seconds: settings.soakSeconds,
      };
      if (settings.gate.command !== undefined)
        checks.push(await commandCheck(ctx, renderCommand(settings.gate.command, vars), timeoutMs));
      if (settings.gate.url !== undefined)
        checks.push(await urlCheck(ctx, renderUrl(settings.gate.url, vars), timeoutMs));
      const ok = checks.every((c) => c.ok);
      ctx.emit({
        event: ok ? 'canary.passed' : 'canary.failed',
        ...where,
        hosts: done.map((r) => r.name),
        checks,
      } as const);
      return ok;
    },
  };
}

function sourceOf(s: HaproxyStatsGate): StatsSource {
  return s.socket !== undefined ? { socket: s.socket } : { url: s.url ?? '' };
}

function backendOf(s: HaproxyStatsGate, cluster: InventoryCluster): string {
  return s.backend.replaceAll('{dc}', cluster.dc).replaceAll('{cluster}', cluster.name);
}

/** The canaries' and the backend's 5xx share over the soak, against the limits and the share before the run. */
export function judgeStats(
  s: HaproxyStatsGate,
  baseline: BackendCounts | Error | undefined,
  before: BackendCounts | Error | undefined,
  after: BackendCounts | Error,
  canaries: readonly string[],
  soakSeconds: number,
): GateCheck {
  const failed = (detail: string): GateCheck => ({ gate: 'haproxyStats', ok: false, detail, figures: {} });
  const source = describeSource(sourceOf(s));
  for (const read of [baseline, before, after])
    if (read instanceof Error) return failed(`could not read the stats from ${source}: ${describeError(read)}`);
  const [start, from, to] = [baseline, before, after] as (BackendCounts | undefined)[];
  if (to === undefined || from === undefined) return failed(`no stats read from ${source}`);
  const missing = canaries.filter((h) => !to.servers.has(h));
  if (missing.length > 0) return failed(`no server ${missing.join(', ')} in the backend's stats from ${source}`);
  const canary = sum(
    canaries.map((h) => delta(to.servers.get(h) ?? { responses: 0, errors5xx: 0 }, from.servers.get(h))),
  );
  const backend = delta(to.backend, from.backend);
  const prior = start?.backend ?? { responses: 0, errors5xx: 0 };
  const increase = ratio(canary) - ratio(prior);
  const figures = {
    canaryRatio: ratio(canary),
    canaryResponses: canary.responses,
    canary5xx: canary.errors5xx,
    backendRatio: ratio(backend),
    backendResponses: backend.responses,
    backend5xx: backend.errors5xx,
    baselineRatio: ratio(prior),
    baselineResponses: prior.responses,
    increase,
    maxErrorRatio: s.maxErrorRatio,
    maxIncrease: s.maxIncrease,
    soakSeconds,
  };
  const why: string[] = [];
  if (canary.responses < s.minRequests)
    why.push(
      `only ${canary.responses} canary responses, fewer than minRequests ${s.minRequests}: too little traffic to judge`,
    );
  if (ratio(canary) > s.maxErrorRatio) why.push(`canaries above maxErrorRatio ${pct(s.maxErrorRatio)}`);
  if (ratio(backend) > s.maxErrorRatio) why.push(`backend above maxErrorRatio ${pct(s.maxErrorRatio)}`);
  if (increase > s.maxIncrease)
    why.push(`canaries ${pct(increase)} above the ratio before the run, more than maxIncrease ${pct(s.maxIncrease)}`);
  const detail = `canaries ${counts(canary)} 5xx, backend ${counts(backend)} over ${soakSeconds}s; before the run ${counts(prior)}${why.length > 0 ? `: ${why.join('; ')}` : ''}`;
  return { gate: 'haproxyStats', ok: why.length === 0, detail, figures };
}

async function commandCheck(ctx: StepContext, command: string, timeoutMs: number): Promise<GateCheck> {
  const probes = ctx.deps.canary;
  if (probes === undefined)
    return { gate: 'command', ok: false, detail: 'no canary probes were wired (a bug in rollout)', figures: {} };
  const r = await probes.runLocal(command, timeoutMs);
  return {
    gate: 'command',
    ok: r.exitCode === 0,
    detail: `\`${command}\` exited ${r.exitCode}${r.output ? `: ${r.output}` : ''}`,
    figures: { exitCode: r.exitCode },
  };
}

async function urlCheck(ctx: StepContext, url: string, timeoutMs: number): Promise<GateCheck> {
  const probes = ctx.deps.canary;
  if (probes === undefined)
    return { gate: 'url', ok: false, detail: 'no canary probes were wired (a bug in rollout)', figures: {} };
  const r = await probes.get(url, timeoutMs);
  return {
    gate: 'url',
    ok: r.status === 200,
    detail: `${url} answered ${r.status === 0 ? 'nothing' : `HTTP ${r.status}`}${r.body ? `: ${r.body}` : ''}`,
    figures: { status: r.status },
  };
}
