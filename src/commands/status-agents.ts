import { agentKeyPrefix, appliedKeyPrefix, appliedRevisionOf, type AgentRegistration } from '../lb/keys.js';
import { poolDcPrefix } from '../lb/pool-path.js';
import type { Kv } from '../kv/kv.js';

/** One registered LB agent, as `rollout status` shows it. */
export interface AgentRow {
  readonly dc: string;
  readonly agentId: string;
  readonly machine: string;
  readonly since: string;
  /** The highest pool key revision it confirmed applying; 0 when none yet. */
  readonly appliedRevision: number;
  /** Pool keys of the datacenter whose current revision it has not confirmed (its lag). */
  readonly pending: number;
}

function registration(raw: string): Partial<AgentRegistration> {
  try {
    return JSON.parse(raw) as Partial<AgentRegistration>;
  } catch {
    return {};
  }
}

/** The agents of each datacenter with what they applied, against the pool keys there now. */
export async function agentRows(
  kv: Kv,
  prefix: string,
  dc: string,
  poolKeys: Pick<Kv, 'list'> = kv,
): Promise<AgentRow[]> {
  const agentsPrefix = agentKeyPrefix(dc);
  const dcPrefix = poolDcPrefix(prefix, dc);
  const [agents, pool] = await Promise.all([kv.list(agentsPrefix), poolKeys.list(dcPrefix)]);
  return Promise.all(
    agents.map(async (entry) => {
      const agentId = entry.key.slice(agentsPrefix.length);
      const appliedPrefix = appliedKeyPrefix(dc, agentId);
      const mine = new Map(
        (await kv.list(appliedPrefix)).map((a) => [a.key.slice(appliedPrefix.length), appliedRevisionOf(a.value)]),
      );
      const pending = pool.filter((p) => (mine.get(p.key.slice(dcPrefix.length)) ?? 0) < p.modRevision).length;
      const reg = registration(entry.value);
      return {
        dc,
        agentId,
        machine: reg.machine ?? '?',
        since: reg.startedAt ?? '?',
        appliedRevision: Math.max(0, ...mine.values()),
        pending,
      };
    }),
  );
}

/** The status lines for the agents of `dcs`; a datacenter without one in red on a terminal. */
export function renderAgents(
  dcs: readonly string[],
  rows: readonly AgentRow[],
  color: boolean,
  /** Datacenters whose hosts confirm through PyBal or not at all (`lb.confirm`), with what confirms them. */
  confirmedBy: ReadonlyMap<string, string> = new Map(),
): string {
  const red = (s: string): string => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const lines = ['LB agents:'];
  for (const dc of dcs) {
    const mine = rows.filter((r) => r.dc === dc);
    const other = confirmedBy.get(dc);
    if (mine.length === 0 && other !== undefined) lines.push(`  ${dc}: no LB agent; ${other}`);
    else if (mine.length === 0)
      lines.push(
        red(
          `  ${dc}: no LB agent registered (rollouts here wait lb.propagationSeconds, or fail with lb.requireAgents)`,
        ),
      );
    for (const r of mine) {
      const lag = r.pending === 0 ? 'caught up' : `${r.pending} pool key(s) not applied yet`;
      lines.push(
        `  ${dc}: ${r.agentId} on ${r.machine}, since ${r.since}, applied up to revision ${r.appliedRevision}, ${lag}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
