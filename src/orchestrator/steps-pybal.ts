import type { PybalPoolAnswer } from '../lb/pybal-client.js';
import { pybalPoolUrl } from '../lb/pybal-client.js';
import { STOPPED_WAITING } from '../lb/pybal-poller.js';
import type { PoolKey } from '../pool/types.js';
import { renderUrl } from '../transport/template.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';

/** What a depool waits for (out of LVS), or a repool (enabled again; LVS pools it once PyBal's monitor says up). */
export type PybalWant = 'depooled' | 'enabled';

type Verdict = 'ok' | 'pending' | 'kept' | 'error';

interface Look {
  readonly url: string;
  readonly pool: string;
  verdict: Verdict;
  detail: string;
}

export type PybalOutcome =
  | { readonly ok: true; readonly confirmers: readonly string[]; readonly waitedMs: number }
  | { readonly ok: false; readonly message: string };

/** The PyBal pool of a conftool key: `lb.pybal.service` with {service}, {cluster}, {dc}. */
function poolOf(template: string, key: PoolKey): string {
  return renderUrl(template, { service: key.service, cluster: key.cluster, dc: key.dc, host: key.host });
}

/** Depooled: disabled and out of LVS, or gone (404). Enabled: enabled, whatever the monitor says. */
function judge(answer: PybalPoolAnswer, host: string, want: PybalWant): { verdict: Verdict; detail: string } {
  if (!answer.ok) return { verdict: 'error', detail: answer.error };
  const state = answer.hosts.get(host);
  if (state === undefined)
    return want === 'depooled'
      ? { verdict: 'ok', detail: 'gone from the pool' }
      : { verdict: 'pending', detail: `does not list ${host}` };
  const text = `enabled=${state.enabled}, pooled=${state.pooled}, up=${state.up}`;
  if (want === 'enabled') return { verdict: state.enabled ? 'ok' : 'pending', detail: text };
  if (!state.enabled && !state.pooled) return { verdict: 'ok', detail: text };
  return { verdict: state.enabled ? 'pending' : 'kept', detail: text };
}

function describe(look: Look, host: string): string {
  const where = pybalPoolUrl(look.url, look.pool);
  switch (look.verdict) {
    case 'kept':
      return `PyBal ${where} kept ${host} pooled (${look.detail}): PyBal's depool threshold keeps a disabled host in LVS when depooling it would leave too few of the pool serving, so LVS still sends it requests. Repool other hosts of the pool, or lower the batch size (or raise minPooled) to fit PyBal's depool-threshold, then run again`;
    case 'error':
      return `PyBal ${look.url} did not answer (${look.detail})`;
    default:
      return `PyBal ${where} still shows ${host} with ${look.detail}`;
  }
}

/**
 * Polls every PyBal of the host's datacenter, for every pool the host is in, until all of them show
 * `want`, up to lb.confirmTimeout. The looks go through the shared poller: one request per PyBal
 * and pool per tick, however many hosts wait.
 */
export async function waitPybal(
  ctx: StepContext,
  run: HostRun,
  keys: readonly PoolKey[],
  want: PybalWant,
  signal?: AbortSignal,
  /** One look only (is it confirmed now?), bounded by this many seconds instead of lb.confirmTimeout. */
  once?: number,
): Promise<PybalOutcome> {
  const settings = run.host.settings.lb;
  const poller = ctx.deps.lb.pybal;
  if (settings.pybal === undefined || poller === undefined)
    return { ok: false, message: 'lb.confirm is pybal but rollout has no PyBal poller (a bug in rollout)' };
  const { clock } = ctx.deps;
  const started = clock.now();
  // Why: one deadline for every look; the poller's ticks are real time, so the bound is too.
  const deadline = AbortSignal.timeout((once ?? settings.confirmTimeoutSeconds) * 1000);
  const bounded = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
  const looks = settings.pybal.urls.flatMap((url) =>
    keys.map((key): Look & { key: PoolKey } => ({
      url,
      pool: poolOf(settings.pybal?.service ?? '{service}', key),
      key,
      verdict: 'pending',
      detail: 'not asked yet',
    })),
  );
  for (;;) {
    const answers = await Promise.all(looks.map((look) => poller.next(look.url, look.pool, bounded)));
    if (signal?.aborted) throw signal.reason as Error;
    for (const [i, look] of looks.entries()) {
      const answer = answers[i] as PybalPoolAnswer;
      // Why: an answer cut short by the deadline says nothing new; the last real one stands in the message.
      if (!answer.ok && answer.error === STOPPED_WAITING) continue;
      Object.assign(look, judge(answer, look.key.host, want));
    }
    if (looks.every((look) => look.verdict === 'ok'))
      return {
        ok: true,
        confirmers: [...new Set(looks.map((look) => pybalPoolUrl(look.url, look.pool)))],
        waitedMs: clock.now() - started,
      };
    if (once !== undefined || deadline.aborted) {
      const open = looks.filter((look) => look.verdict !== 'ok').map((look) => describe(look, look.key.host));
      return { ok: false, message: open.join('; ') };
    }
  }
}
