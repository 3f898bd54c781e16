import { agentKeyPrefix, appliedKey, type AppliedValue } from '../lb/keys.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';

const POLL_MS = 250;

async function registeredAgents(ctx: StepContext, dc: string): Promise<string[]> {
  const prefix = agentKeyPrefix(dc);
  return (await ctx.deps.pool.kv.list(prefix)).map((entry) => entry.key.slice(prefix.length));
}

async function appliedRevision(ctx: StepContext, agentId: string, run: HostRun): Promise<number> {
  const entry = await ctx.deps.pool.kv.get(appliedKey(agentId, run.key));
  if (!entry) return 0;
  try {
    return Number((JSON.parse(entry.value) as AppliedValue).revision) || 0;
  } catch {
    return 0;
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
  const started = ctx.deps.clock.now();
  const deadline = started + lb.confirmTimeoutSeconds * 1000;
  let agents = await registeredAgents(ctx, dc);
  if (agents.length === 0) {
    ctx.emit({ event: 'lb.propagation-assumed', dc, cluster, host: run.name, seconds: lb.propagationSeconds });
    await ctx.deps.sleep(lb.propagationSeconds * 1000, signal);
    run.moveTo('lb-confirmed', 'drain');
    return true;
  }
  for (;;) {
    const pending: string[] = [];
    for (const agent of agents) if ((await appliedRevision(ctx, agent, run)) < revision) pending.push(agent);
    if (pending.length === 0) {
      ctx.emit({ event: 'lb.confirmed', dc, cluster, host: run.name, agents, waitedMs: ctx.deps.clock.now() - started });
      run.moveTo('lb-confirmed', 'drain');
      return true;
    }
    if (ctx.deps.clock.now() >= deadline) {
      run.fail('lb-confirm', `LB agent(s) ${pending.join(', ')} did not confirm the depool (revision ${revision}) within ${lb.confirmTimeoutSeconds}s; the host stays depooled`, 'E_LB_CONFIRM');
      return false;
    }
    await ctx.deps.sleep(POLL_MS, signal);
    // Why: an agent whose lease expired has gone away and no longer serves traffic for this DC.
    const now = await registeredAgents(ctx, dc);
    agents = now.length > 0 ? now : agents;
  }
}
