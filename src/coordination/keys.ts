import { ROLLOUT_PREFIX } from '../keyspace.js';
import type { PoolKey } from '../pool/types.js';

/** Lease-bound run locks: `/rollout/v1/locks/<dc>/<cluster>`. */
export const LOCKS_PREFIX = `${ROLLOUT_PREFIX}locks/`;
/** Run journals, not lease-bound: `/rollout/v1/runs/<runId>/…`. */
export const RUNS_PREFIX = `${ROLLOUT_PREFIX}runs/`;

export function lockKey(dc: string, cluster: string): string {
  return `${LOCKS_PREFIX}${dc}/${cluster}`;
}

export function runPrefix(runId: string): string {
  return `${RUNS_PREFIX}${runId}/`;
}

export function runMetaKey(runId: string): string {
  return `${runPrefix(runId)}meta`;
}

export function runHostKey(runId: string, key: PoolKey): string {
  return `${runPrefix(runId)}hosts/${key.dc}/${key.cluster}/${key.service}/${key.host}`;
}

/** Written in the transaction of a batch's depool: its presence proves the transaction committed. */
export function runBatchKey(runId: string, dc: string, cluster: string, batch: number): string {
  return `${runBatchPrefix(runId)}${dc}/${cluster}/${batch}`;
}

export function runBatchPrefix(runId: string): string {
  return `${runPrefix(runId)}batches/`;
}

/** Restart slots of the fleet-wide cap, lease-bound: `/rollout/v1/slots/<scope>/<request>` (src/coordination/semaphore.ts). */
export const SLOTS_PREFIX = `${ROLLOUT_PREFIX}slots/`;
