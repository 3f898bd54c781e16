import type { PoolKey } from '../pool/types.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';
import { waitPybal } from './steps-pybal.js';

/** The longest wait between two looks at the LB view, should a change go unannounced. */
const RECHECK_MS = 250;

type Applied =
  | { readonly ok: true; readonly agents: readonly string[]; readonly waitedMs: number }
  | { readonly ok: false; readonly pending: readonly string[] };

/** The agents that have not applied every one of these writes (a host in several pools has one per key). */
async function notAppliedAnywhere(
  ctx: StepContext,
  writes: readonly { readonly key: PoolKey; readonly revision: number }[],
  agents: readonly string[],
): Promise<string[]> {
  const pending = new Set<string>();
  for (const { key, revision } of writes)
    for (const agent of await ctx.deps.lb.notApplied(key, revision, agents)) pending.add(agent);
  return [...pending];
}

type Writes = readonly { readonly key: PoolKey; readonly revision: number }[];

/** The depool's writes: every key it wrote, all at the transaction's revision. */
function depoolWrites(run: HostRun): Writes {
  const revision = run.wrote?.revision ?? 0;
  const keys = run.wroteKeys.length > 0 ? run.wroteKeys.map((w) => w.read.key) : [run.key];
  return keys.map((key) => ({ key, revision }));
}

/** The keys the repool put back (a key an operator changed meanwhile is not waited on). */
function repooledKeys(run: HostRun): readonly PoolKey[] {
  return run.repooledKeys.length > 0 ? run.repooledKeys.map((r) => r.key) : run.keys;
}

/** Waits until every registered LB agent of the host's datacenter has applied `revision`, up to lb.confirmTimeout. */
async function waitApplied(
  ctx: StepContext,
  run: HostRun,
  initial: readonly string[],
  writes: Writes,
  signal?: AbortSignal,
): Promise<Applied> {
  const { lb, clock } = ctx.deps;
  const started = clock.now();
  const deadline = started + run.host.settings.lb.confirmTimeoutSeconds * 1000;
  let agents = initial;
  for (;;) {
    const pending = await notAppliedAnywhere(ctx, writes, agents);
    if (pending.length === 0) return { ok: true, agents, waitedMs: clock.now() - started };
    if (clock.now() >= deadline) return { ok: false, pending };
    await untilChanged(ctx, run.planned.dc, Math.min(RECHECK_MS, deadline - clock.now()), signal);
    // Why: an agent whose lease expired has gone away and no longer serves traffic for this DC.
    const now = await lb.agents(run.planned.dc);
    agents = now.length > 0 ? now : agents;
  }
}

/** Until the LB view of the datacenter changes, at most `ms`; throws if `signal` aborts. */
async function untilChanged(ctx: StepContext, dc: string, ms: number, signal?: AbortSignal): Promise<void> {
  const done = new AbortController();
  const both = signal === undefined ? done.signal : AbortSignal.any([signal, done.signal]);
  try {
    await Promise.race([ctx.deps.lb.changed(dc, both), ctx.deps.sleep(ms, both).catch(() => undefined)]);
  } finally {
    done.abort();
  }
  if (signal?.aborted) throw signal.reason as Error;
}

/**
 * Before the depool, with lb.requireAgents: a datacenter with no LB agent registered fails those
 * hosts closed (not depooled, not restarted) instead of trusting a propagation delay.
 */
export async function requireAgents(ctx: StepContext, runs: readonly HostRun[]): Promise<void> {
  // Why: without a PyBal poller nothing could confirm a pybal host's depool; refuse before writing.
  if (ctx.deps.lb.pybal === undefined)
    for (const run of runs.filter((r) => r.state === 'pending' && r.host.settings.lb.confirm === 'pybal'))
      run.fail('depool', 'lb.confirm is pybal but this command has no PyBal poller: not depooled', 'E_LB_CONFIRM');
  const strict = runs.filter(
    (run) => run.state === 'pending' && run.host.settings.lb.confirm === 'agents' && run.host.settings.lb.requireAgents,
  );
  for (const dc of new Set(strict.map((run) => run.planned.dc))) {
    if ((await ctx.deps.lb.agents(dc)).length > 0) continue;
    for (const run of strict.filter((r) => r.planned.dc === dc)) {
      run.fail(
        'depool',
        `no LB agent is registered in ${dc} and lb.requireAgents is true: not depooled, not restarted. Start the datacenter's \`rollout lb-agent\`s, or set lb.requireAgents: false to fall back to lb.propagationSeconds`,
        'E_LB_CONFIRM',
      );
    }
  }
}

/**
 * Waits until every LB agent of the host's datacenter has applied this run's depool.
 * No agent registered: the configured propagation delay, reported as a warning. An agent that
 * does not confirm in time fails the host, which stays depooled (fail closed).
 */
export async function confirmLb(ctx: StepContext, run: HostRun, signal: AbortSignal): Promise<boolean> {
  const { dc, cluster } = run.planned;
  const revision = run.wrote?.revision ?? 0;
  const lb = run.host.settings.lb;
  if (lb.confirm === 'pybal') return confirmPybalDepool(ctx, run, signal);
  const agents = lb.confirm === 'none' ? [] : await ctx.deps.lb.agents(dc);
  if (agents.length === 0) {
    ctx.emit({
      event: 'lb.propagation-assumed',
      dc,
      cluster,
      host: run.name,
      seconds: lb.propagationSeconds,
      ...(lb.confirm === 'none' ? { because: 'confirm-none' as const } : {}),
    });
    await ctx.deps.sleep(lb.propagationSeconds * 1000, signal);
    run.moveTo('lb-confirmed', 'drain');
    return true;
  }
  const applied = await waitApplied(ctx, run, agents, depoolWrites(run), signal);
  if (!applied.ok) {
    run.fail(
      'lb-confirm',
      `LB agent(s) ${applied.pending.join(', ')} did not confirm the depool (revision ${revision}) within ${lb.confirmTimeoutSeconds}s; the host stays depooled`,
      'E_LB_CONFIRM',
    );
    return false;
  }
  ctx.emit({ event: 'lb.confirmed', dc, cluster, host: run.name, agents: applied.agents, waitedMs: applied.waitedMs });
  run.moveTo('lb-confirmed', 'drain');
  return true;
}

/**
 * PyBal: every PyBal shows the host disabled and out of LVS (or gone) in every pool it is in. Kept
 * pooled by the depool threshold, or a PyBal that does not answer: the host fails, stays depooled.
 */
async function confirmPybalDepool(ctx: StepContext, run: HostRun, signal: AbortSignal): Promise<boolean> {
  const { dc, cluster } = run.planned;
  const outcome = await waitPybal(ctx, run, run.keys, 'depooled', signal);
  if (!outcome.ok) {
    run.fail(
      'lb-confirm',
      `depool not confirmed within ${run.host.settings.lb.confirmTimeoutSeconds}s: ${outcome.message}; not restarted, the host stays depooled in etcd (fail closed)`,
      'E_LB_CONFIRM',
    );
    return false;
  }
  ctx.emit({
    event: 'lb.confirmed',
    dc,
    cluster,
    host: run.name,
    agents: outcome.confirmers,
    waitedMs: outcome.waitedMs,
  });
  run.moveTo('lb-confirmed', 'drain');
  return true;
}

/**
 * After the repool: waits until every registered agent serves the host again, so the next batch's
 * capacity guard counts what the load balancer serves. One that does not confirm in time leaves the
 * host marked `lbUnconfirmed`: the guard counts it as not pooled until an agent catches up.
 */
export async function confirmRepool(ctx: StepContext, run: HostRun): Promise<void> {
  const { dc, cluster } = run.planned;
  const lb = run.host.settings.lb;
  const revision = run.repoolRevision ?? 0;
  if (lb.confirm === 'none') return;
  let confirmed: { readonly by: readonly string[]; readonly waitedMs: number } | undefined;
  let unconfirmed = '';
  if (lb.confirm === 'pybal') {
    const outcome = await waitPybal(ctx, run, repooledKeys(run), 'enabled');
    if (outcome.ok) confirmed = { by: outcome.confirmers, waitedMs: outcome.waitedMs };
    else
      unconfirmed = `the repool is not confirmed within ${lb.confirmTimeoutSeconds}s (${outcome.message}); the capacity guard counts it as not pooled until PyBal shows it enabled`;
  } else {
    const agents = await ctx.deps.lb.agents(dc);
    if (agents.length === 0) return;
    const applied = await waitApplied(ctx, run, agents, run.repooledKeys);
    if (applied.ok) confirmed = { by: applied.agents, waitedMs: applied.waitedMs };
    else
      unconfirmed = `LB agent(s) ${applied.pending.join(', ')} did not confirm the repool (revision ${revision}) within ${lb.confirmTimeoutSeconds}s; the capacity guard counts it as not pooled until they do`;
  }
  if (confirmed !== undefined) {
    const { by, waitedMs } = confirmed;
    ctx.emit({ event: 'lb.repool-confirmed', dc, cluster, host: run.name, agents: by, waitedMs });
    return;
  }
  run.lbUnconfirmed = true;
  ctx.emit({ event: 'run.warning', message: `${run.name}: ${unconfirmed}` });
}

/** The hosts of earlier batches whose repool the LB agents (or PyBals) have still not all applied. */
export async function unconfirmedRepools(ctx: StepContext, earlier: readonly HostRun[]): Promise<HostRun[]> {
  const open: HostRun[] = [];
  for (const run of earlier.filter((r) => r.lbUnconfirmed)) {
    if (run.host.settings.lb.confirm === 'pybal') {
      // Why: one more look (a tick), not a new wait of lb.confirmTimeout.
      const look = await waitPybal(ctx, run, repooledKeys(run), 'enabled', undefined, 5).catch(() => undefined);
      if (look?.ok === true) run.lbUnconfirmed = false;
      else open.push(run);
      continue;
    }
    const agents = await ctx.deps.lb.agents(run.planned.dc);
    if ((await notAppliedAnywhere(ctx, run.repooledKeys, agents)).length === 0) run.lbUnconfirmed = false;
    else open.push(run);
  }
  return open;
}
