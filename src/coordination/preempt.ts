import { ROLLOUT_PREFIX } from '../keyspace.js';
import type { Kv } from '../kv/kv.js';
import type { ClusterRef } from './lock.js';

/** `/rollout/v1/preempt/<dc>/<cluster>`: an emergency run asks the graceful run holding the cluster to stop. */
export const PREEMPT_PREFIX = `${ROLLOUT_PREFIX}preempt/`;

export interface PreemptRequest {
  readonly runId: string;
  readonly user: string;
  readonly machine: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
}

export function preemptKey(dc: string, cluster: string): string {
  return `${PREEMPT_PREFIX}${dc}/${cluster}`;
}

function parseRequest(raw: string): PreemptRequest | null {
  try {
    const value = JSON.parse(raw) as Partial<PreemptRequest> | null;
    if (typeof value?.runId !== 'string' || typeof value.user !== 'string') return null;
    return {
      runId: value.runId,
      user: value.user,
      machine: String(value.machine ?? ''),
      reason: String(value.reason ?? ''),
      at: String(value.at ?? ''),
    };
  } catch {
    return null;
  }
}

/** Writes a request on each cluster; returns what to clear afterwards. */
export async function requestPreempt(
  kv: Kv,
  clusters: readonly ClusterRef[],
  request: PreemptRequest,
): Promise<{ readonly key: string; readonly revision: number }[]> {
  const written: { key: string; revision: number }[] = [];
  for (const c of clusters) {
    const key = preemptKey(c.dc, c.cluster);
    written.push({ key, revision: await kv.put(key, JSON.stringify(request)) });
  }
  return written;
}

/** Removes this run's requests (CAS: a newer request by another run stays). */
export async function clearPreempt(
  kv: Kv,
  written: readonly { readonly key: string; readonly revision: number }[],
): Promise<void> {
  for (const { key, revision } of written) await kv.delete(key, { expectModRevision: revision }).catch(() => false);
}

/**
 * For a graceful run: polls for a preemption request on any of its clusters and calls `onPreempt`
 * once with the first one found. Returns a function that stops the polling.
 */
export function watchPreempt(
  kv: Kv,
  clusters: readonly ClusterRef[],
  onPreempt: (request: PreemptRequest) => void,
  intervalMs = 1000,
): () => void {
  const keys = new Set(clusters.map((c) => preemptKey(c.dc, c.cluster)));
  let done = false;
  const timer = setInterval(() => {
    void kv.list(PREEMPT_PREFIX).then(
      (entries) => {
        const found = entries
          .filter((e) => keys.has(e.key))
          .map((e) => parseRequest(e.value))
          .find((r) => r !== null);
        if (found && !done) {
          done = true;
          clearInterval(timer);
          onPreempt(found);
        }
      },
      () => undefined,
    );
  }, intervalMs);
  timer.unref();
  return () => {
    done = true;
    clearInterval(timer);
  };
}
