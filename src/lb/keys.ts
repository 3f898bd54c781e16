import { ROLLOUT_PREFIX } from '../keyspace.js';
import type { PoolKey } from '../pool/types.js';

export { ROLLOUT_PREFIX } from '../keyspace.js';

/** Everything of one datacenter's LB agents (registrations and applied keys): what a run watches. */
export function lbDcPrefix(dc: string): string {
  return `${ROLLOUT_PREFIX}lb/${dc}/`;
}

/** Lease-bound registration of one LB agent: `/rollout/v1/lb/<dc>/agents/<agentId>`. */
export function agentKeyPrefix(dc: string): string {
  return `${lbDcPrefix(dc)}agents/`;
}

export function agentKey(dc: string, agentId: string): string {
  return `${agentKeyPrefix(dc)}${agentId}`;
}

/** Every applied key of one agent in a datacenter: `/rollout/v1/lb/<dc>/applied/<agentId>/`. */
export function appliedKeyPrefix(dc: string, agentId: string): string {
  return `${lbDcPrefix(dc)}applied/${agentId}/`;
}

/** Lease-bound: what one agent has applied for one pool key. Value: AppliedValue JSON. */
export function appliedKey(agentId: string, key: PoolKey): string {
  return `${appliedKeyPrefix(key.dc, agentId)}${key.cluster}/${key.service}/${key.host}`;
}

/** The pool revision an applied key confirms; 0 when its value is unreadable. */
export function appliedRevisionOf(raw: string): number {
  try {
    return Number((JSON.parse(raw) as Partial<AppliedValue>).revision) || 0;
  } catch {
    return 0;
  }
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
