import { ROLLOUT_PREFIX } from '../keyspace.js';
import type { Kv, Lease } from '../kv/kv.js';
import type { RolloutEvent } from '../report/events.js';

/** `/rollout/v1/live/<runId>`: what a live run is doing, bound to its lease (gone when the run is). */
export const LIVE_PREFIX = `${ROLLOUT_PREFIX}live/`;

export function liveKey(runId: string): string {
  return `${LIVE_PREFIX}${runId}`;
}

export type LiveState =
  'running' | 'paused' | 'asking' | 'waiting for capacity' | 'waiting for a slot' | 'stopping' | 'finished';

export interface LiveCluster {
  readonly dc: string;
  readonly cluster: string;
  readonly hosts: number;
  done: number;
  failed: number;
  skipped: number;
  /** What the cluster waits for, when it waits. */
  waiting: 'capacity' | 'slot' | null;
}

/** The value of a live key, as `rollout status` shows it. */
export interface LiveView {
  readonly runId: string;
  readonly user: string;
  readonly machine: string;
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
  state: LiveState;
  /** Who paused or aborted it and why; what it asks. */
  detail: string | null;
  clusters: LiveCluster[];
  freezeIgnored: readonly string[];
  updatedAt: string;
}

/** Questions on failure pause the run with a reason starting so (src/orchestrator/ask.ts): status says "asking". */
export const ASKING_PREFIX = 'asking';

/** Folds a run's events into its live view; `apply` says whether the state (not just progress) changed. */
export class LiveTracker {
  private view: LiveView | undefined;

  current(): LiveView | undefined {
    return this.view;
  }

  apply(event: RolloutEvent): 'state' | 'progress' | 'none' {
    if (event.event === 'run.started') {
      this.view = {
        runId: event.runId,
        user: event.user,
        machine: event.machine,
        pid: event.pid,
        command: event.command,
        startedAt: event.time,
        state: 'running',
        detail: null,
        clusters: event.clusters.map((c) => ({ ...c, done: 0, failed: 0, skipped: 0, waiting: null })),
        freezeIgnored: event.freezeIgnored ?? [],
        updatedAt: event.time,
      };
      return 'state';
    }
    const view = this.view;
    if (view === undefined) return 'none';
    view.updatedAt = event.time;
    const before = `${view.state} ${view.detail ?? ''}`;
    const cluster =
      'cluster' in event && 'dc' in event
        ? view.clusters.find((c) => c.dc === event.dc && c.cluster === event.cluster)
        : undefined;
    switch (event.event) {
      case 'run.paused':
        view.state = event.reason.startsWith(ASKING_PREFIX) ? 'asking' : 'paused';
        view.detail = `${event.by}: ${event.reason}`;
        break;
      case 'run.resumed':
        view.state = 'running';
        view.detail = null;
        break;
      case 'run.aborted':
        view.state = 'stopping';
        view.detail = `aborted by ${event.by}: ${event.reason}`;
        break;
      case 'run.interrupted':
        view.state = 'stopping';
        view.detail ??= `interrupted (${event.signal})`;
        break;
      case 'run.finished':
        view.state = 'finished';
        break;
      case 'capacity.waiting':
        if (cluster) cluster.waiting = 'capacity';
        break;
      case 'slot.waiting':
        if (cluster) cluster.waiting = 'slot';
        break;
      case 'host.done':
      case 'host.failed':
      case 'host.skipped':
        if (cluster) {
          cluster.waiting = null;
          if (event.event === 'host.done') cluster.done += 1;
          else if (event.event === 'host.failed') cluster.failed += 1;
          else cluster.skipped += 1;
        }
        break;
      default:
        if (cluster) cluster.waiting = null;
    }
    if (view.state === 'running' || view.state.startsWith('waiting')) view.state = waitingState(view.clusters);
    return `${view.state} ${view.detail ?? ''}` === before ? 'progress' : 'state';
  }
}

/** A run waits when every cluster that has work left waits, for the same thing. */
function waitingState(clusters: readonly LiveCluster[]): LiveState {
  const open = clusters.filter((c) => c.done + c.failed + c.skipped < c.hosts);
  if (open.length > 0 && open.every((c) => c.waiting === 'capacity')) return 'waiting for capacity';
  if (open.length > 0 && open.every((c) => c.waiting === 'slot')) return 'waiting for a slot';
  return 'running';
}

/** Least time between two writes of progress alone; a change of state is written at once. */
const PROGRESS_EVERY_MS = 1000;

/**
 * Keeps the run's live key up to date from its events, bound to its lease. Best effort: a failed
 * write is said once and never stops the run.
 */
export function createLivePublisher(
  kv: Kv,
  lease: Lease,
  onWarning: (message: string) => void,
  now: () => number = Date.now,
): { observe(event: RolloutEvent): void; flush(): Promise<void> } {
  const tracker = new LiveTracker();
  let lastWrite = 0;
  let pending: NodeJS.Timeout | undefined;
  let chain = Promise.resolve();
  let warned = false;
  const write = (): void => {
    const view = tracker.current();
    if (view === undefined) return;
    lastWrite = now();
    const value = JSON.stringify(view);
    chain = chain
      .then(() => kv.put(liveKey(view.runId), value, { lease }))
      .then(
        () => undefined,
        (error: unknown) => {
          if (warned) return;
          warned = true;
          onWarning(`could not update ${liveKey(view.runId)} for \`rollout status\`: ${String(error)}`);
        },
      );
  };
  return {
    observe(event) {
      const change = tracker.apply(event);
      if (change === 'none') return;
      if (change === 'state' || now() - lastWrite >= PROGRESS_EVERY_MS) {
        clearTimeout(pending);
        pending = undefined;
        return write();
      }
      pending ??= setTimeout(() => {
        pending = undefined;
        write();
      }, PROGRESS_EVERY_MS);
      pending.unref();
    },
    async flush() {
      clearTimeout(pending);
      await chain;
    },
  };
}

/** Every live view, keyed by run id; an unreadable value is left out. */
export async function readLiveViews(kv: Kv): Promise<Map<string, LiveView>> {
  const views = new Map<string, LiveView>();
  for (const entry of await kv.list(LIVE_PREFIX)) {
    try {
      const view = JSON.parse(entry.value) as LiveView;
      if (typeof view.runId === 'string' && Array.isArray(view.clusters)) views.set(view.runId, view);
    } catch {
      // Why: status shows the run from its lock alone then.
    }
  }
  return views;
}
