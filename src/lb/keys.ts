import type { PoolKey } from '../pool/types.js';

/** Rollout's own keys live beside conftool's, never inside its pool prefix (DESIGN.md). */
export const ROLLOUT_PREFIX = '/rollout/v1/';

/** Lease-bound registration of one LB agent: `/rollout/v1/lb/<dc>/agents/<agentId>`. */
export function agentKeyPrefix(dc: string): string {
  return `${ROLLOUT_PREFIX}lb/${dc}/agents/`;
}

export function agentKey(dc: string, agentId: string): string {
  return `${agentKeyPrefix(dc)}${agentId}`;
}

/** Lease-bound: what one agent has applied for one pool key. Value: AppliedValue JSON. */
export function appliedKey(agentId: string, key: PoolKey): string {
  return `${ROLLOUT_PREFIX}lb/${key.dc}/applied/${agentId}/${key.cluster}/${key.service}/${key.host}`;
}

/** Value of an agent registration key. */
export interface AgentRegistration {
  readonly agentId: string;
  readonly machine: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly haproxySocket: string;
}

/** Value of an applied key: the pool key's modRevision the agent has applied to its LB. */
export interface AppliedValue {
  /** modRevision of the pool key whose value was applied (confirmations compare with >=). */
  readonly revision: number;
  readonly pooled: string;
  readonly weight: number;
  readonly appliedAt: string;
}
