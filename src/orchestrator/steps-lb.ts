import { agentKeyPrefix, appliedKey, appliedRevisionOf } from '../lb/keys.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';

const POLL_MS = 250;

async function registeredAgents(ctx: StepContext, dc: string): Promise<string[]> {
  const prefix = agentKeyPrefix(dc);
  return (await ctx.deps.pool.kv.list(prefix)).map((entry) => entry.key.slice(prefix.length));
}

async function appliedRevision(ctx: StepContext, agentId: string, run: HostRun): Promise<number> {
  const entry = await ctx.deps.pool.kv.get(appliedKey(agentId, run.key));
  return entry ? appliedRevisionOf(entry.value) : 0;
}

async function notYetApplied(ctx: StepContext, agents: readonly string[], run: HostRun, revision: number): Promise<string[]> {
  const pending: string[] = [];
  for (const agent of agents) if ((await appliedRevision(ctx, agent, run)) < revision) pending.push(agent);
  return pending;
}

type Applied = { readonly ok: true; readonly agents: readonly string[]; readonly waitedMs: number } | { readonly ok: false; readonly pending: readonly string[] };

/** Waits until every registered LB agent of the host's datacenter has applied `revision`, up to lb.confirmTimeout. */
async function waitApplied(ctx: StepContext, run: HostRun, initial: readonly string[], revision: number, signal?: AbortSignal): Promise<Applied> {
  const started = ctx.deps.clock.now();
  const deadline = started + run.host.settings.lb.confirmTimeoutSeconds * 1000;
  let agents = initial;
  for (;;) {
    const pending = await notYetApplied(ctx, agents, run, revision);
    if (pending.length === 0) return { ok: true, agents, waitedMs: ctx.deps.clock.now() - started };
    if (ctx.deps.clock.now() >= deadline) return { ok: false, pending };
    await ctx.deps.sleep(POLL_MS, signal);
    // Why: an agent whose lease expired has gone away and no longer serves traffic for this DC.
    const now = await registeredAgents(ctx, run.planned.dc);
    agents = now.length > 0 ? now : agents;
  }
}

/**
 * Before the depool, with lb.requireAgents: a datacenter with no LB agent registered fails those
 * hosts closed (not depooled, not restarted) instead of trusting a propagation delay.
 */
export async function requireAgents(ctx: StepContext, runs: readonly HostRun[]): Promise<void> {
  const strict = runs.filter((run) => run.state === 'pending' && run.host.settings.lb.requireAgents);
  for (const dc of new Set(strict.map((run) => run.planned.dc))) {
    if ((await registeredAgents(ctx, dc)).length > 0) continue;
    for (const run of strict.filter((r) => r.planned.dc === dc)) {
      run.fail('depool', `no LB agent is registered in ${dc} and lb.requireAgents is true: not depooled, not restarted. Start the datacenter's \`rollout lb-agent\`s, or set lb.requireAgents: false to fall back to lb.propagationSeconds`, 'E_LB_CONFIRM');
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
  const agents = await registeredAgents(ctx, dc);
  if (agents.length === 0) {
    ctx.emit({ event: 'lb.propagation-assumed', dc, cluster, host: run.name, seconds: lb.propagationSeconds });
    await ctx.deps.sleep(lb.propagationSeconds * 1000, signal);
    run.moveTo('lb-confirmed', 'drain');
    return true;
  }
  const applied = await waitApplied(ctx, run, agents, revision, signal);
  if (!applied.ok) {
    run.fail('lb-confirm', `LB agent(s) ${applied.pending.join(', ')} did not confirm the depool (revision ${revision}) within ${lb.confirmTimeoutSeconds}s; the host stays depooled`, 'E_LB_CONFIRM');
    return false;
  }
  ctx.emit({ event: 'lb.confirmed', dc, cluster, host: run.name, agents: applied.agents, waitedMs: applied.waitedMs });
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
  const revision = run.repoolRevision ?? 0;
  const agents = await registeredAgents(ctx, dc);
  if (agents.length === 0) return;
  const applied = await waitApplied(ctx, run, agents, revision);
  if (applied.ok) {
    ctx.emit({ event: 'lb.repool-confirmed', dc, cluster, host: run.name, agents: applied.agents, waitedMs: applied.waitedMs });
    return;
  }
  run.lbUnconfirmed = true;
  ctx.emit({ event: 'run.warning', message: `${run.name}: LB agent(s) ${applied.pending.join(', ')} did not confirm the repool (revision ${revision}) within ${run.host.settings.lb.confirmTimeoutSeconds}s; the capacity guard counts it as not pooled until they do` });
}

/** The hosts of earlier batches whose repool the LB agents have still not all applied. */
export async function unconfirmedRepools(ctx: StepContext, earlier: readonly HostRun[]): Promise<HostRun[]> {
  const open: HostRun[] = [];
  for (const run of earlier.filter((r) => r.lbUnconfirmed)) {
    const agents = await registeredAgents(ctx, run.planned.dc);
    if ((await notYetApplied(ctx, agents, run, run.repoolRevision ?? 0)).length === 0) run.lbUnconfirmed = false;
    else open.push(run);
  }
  return open;
}
