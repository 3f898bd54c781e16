import type { PoolKey } from '../pool/types.js';

/** Rollout's own keys live beside conftool's, never inside its pool prefix (DESIGN.md). */
export const ROLLOUT_PREFIX = '/rollout/v1/';

/** Lease-bound run locks: `/rollout/v1/locks/<dc>/<cluster>`. */
export const LOCKS_PREFIX = `${ROLLOUT_PREFIX}locks/`;
/** Run journals, not lease-bound: `/rollout/v1/runs/<runId>/…`. */
export const RUNS_PREFIX = `${ROLLOUT_PREFIX}runs/`;
/** Manual pool/depool records: `/rollout/v1/manual/<dc>/<cluster>/<service>/<host>`. */
export const MANUAL_PREFIX = `${ROLLOUT_PREFIX}manual/`;

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

export function manualKey(key: PoolKey): string {
  return `${MANUAL_PREFIX}${key.dc}/${key.cluster}/${key.service}/${key.host}`;
}

/** Splits `a/b/c/d` into a PoolKey, or null when it has not exactly four non-empty parts. */
export function poolKeyFromParts(rest: string): PoolKey | null {
  const parts = rest.split('/');
  if (parts.length !== 4 || parts.some((part) => part === '')) return null;
  const [dc, cluster, service, host] = parts as [string, string, string, string];
  return { dc, cluster, service, host };
}

/** Restart slots of the fleet-wide cap, lease-bound: `/rollout/v1/slots/<scope>/<request>` (src/pool/semaphore.ts). */
export const SLOTS_PREFIX = `${ROLLOUT_PREFIX}slots/`;
