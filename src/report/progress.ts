import type { RolloutEvent } from './events.js';
import { clusterKey, formatElapsed } from './format.js';

/** Where one cluster of a run stands. */
export interface ClusterProgress {
  readonly dc: string;
  readonly cluster: string;
  /** Hosts planned in batches (from run.started, else seen in batches) plus hosts skipped up front. */
  readonly hosts: number;
  /** The batch running or last run (0 before the first). */
  readonly batch: number;
  readonly batches: number;
  /** Window mode: the window's width now; undefined for a barrier run. */
  readonly width: number | undefined;
  readonly inFlight: number;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly left: number;
  /** Event time of the first batch, ms since the epoch; undefined before. */
  readonly startedMs: number | undefined;
  /** Event time the last host of the cluster finished; undefined while hosts remain. */
  readonly finishedMs: number | undefined;
}

interface MutableProgress {
  dc: string;
  cluster: string;
  planned: number | undefined;
  batch: number;
  batches: number;
  width: number | undefined;
  inFlight: Set<string>;
  /** Hosts listed by batch.started: the ones run.started counted. */
  batched: Set<string>;
  /** Hosts skipped before any batch (e.g. inactive): not in run.started's count. */
  skippedUpFront: number;
  ok: number;
  failed: number;
  skipped: number;
  startedMs: number | undefined;
  finishedMs: number | undefined;
}

export interface ProgressTracker {
  apply(event: RolloutEvent): void;
  /** In the order the run announced them. */
  clusters(): ClusterProgress[];
}

/** Per-cluster progress folded from events as they come. No clock: times come from events. */
export function createProgressTracker(): ProgressTracker {
  const byKey = new Map<string, MutableProgress>();
  const get = (dc: string, cluster: string): MutableProgress => {
    const key = clusterKey(dc, cluster);
    let p = byKey.get(key);
    if (!p) {
      p = {
        dc,
        cluster,
        planned: undefined,
        batch: 0,
        batches: 0,
        width: undefined,
        inFlight: new Set(),
        batched: new Set(),
        skippedUpFront: 0,
        ok: 0,
        failed: 0,
        skipped: 0,
        startedMs: undefined,
        finishedMs: undefined,
      };
      byKey.set(key, p);
    }
    return p;
  };
  const view = (p: MutableProgress): ClusterProgress => {
    const hosts = Math.max(p.planned ?? 0, p.batched.size) + p.skippedUpFront;
    return {
      dc: p.dc,
      cluster: p.cluster,
      hosts,
      batch: p.batch,
      batches: p.batches,
      width: p.width,
      inFlight: p.inFlight.size,
      ok: p.ok,
      failed: p.failed,
      skipped: p.skipped,
      left: Math.max(0, hosts - p.ok - p.failed - p.skipped - p.inFlight.size),
      startedMs: p.startedMs,
      finishedMs: p.finishedMs,
    };
  };
  const finish = (p: MutableProgress, host: string, atMs: number): void => {
    p.inFlight.delete(host);
    const v = view(p);
    if (v.inFlight === 0 && v.left === 0) p.finishedMs = atMs;
  };

  return {
    apply(event) {
      const atMs = Date.parse(event.time);
      switch (event.event) {
        case 'run.started':
          for (const c of event.clusters)
            Object.assign(get(c.dc, c.cluster), {
              planned: c.hosts,
              batches: c.batches,
              width: c.mode === 'window' ? (c.width ?? 1) : undefined,
            });
          return;
        case 'host.dispatched': {
          const p = get(event.dc, event.cluster);
          Object.assign(p, { width: event.width, finishedMs: undefined });
          p.startedMs ??= atMs;
          p.batched.add(event.host);
          p.inFlight.add(event.host);
          return;
        }
        case 'batch.started': {
          const p = get(event.dc, event.cluster);
          Object.assign(p, { batch: event.batch, batches: event.batches, finishedMs: undefined });
          p.startedMs ??= atMs;
          for (const h of event.hosts) {
            p.batched.add(h);
            p.inFlight.add(h);
          }
          return;
        }
        case 'host.done':
          get(event.dc, event.cluster).ok += 1;
          return finish(get(event.dc, event.cluster), event.host, atMs);
        case 'host.failed':
          get(event.dc, event.cluster).failed += 1;
          return finish(get(event.dc, event.cluster), event.host, atMs);
        case 'host.skipped': {
          const p = get(event.dc, event.cluster);
          p.skipped += 1;
          if (!p.batched.has(event.host)) p.skippedUpFront += 1;
          return finish(p, event.host, atMs);
        }
        default:
          return;
      }
    },
    clusters: () => [...byKey.values()].map(view),
  };
}

/** Progress of every cluster after these events. Pure. */
export function progressFrom(events: readonly RolloutEvent[]): ClusterProgress[] {
  const tracker = createProgressTracker();
  for (const e of events) tracker.apply(e);
  return tracker.clusters();
}

/**
 * `appserver@eqiad  45% (batch 2/5; in-flight: 3; ok: 10; fail: 0; left: 9) 0:42`, scap-style; a
 * window run: `appserver@eqiad  37% (in flight 10/10; ok 35; fail 0; left 63) 0:42`.
 */
export function renderProgressLine(p: ClusterProgress, nowMs: number, nameWidth = 0): string {
  const finished = p.ok + p.failed + p.skipped;
  const percent = p.hosts === 0 ? 100 : Math.floor((finished / p.hosts) * 100);
  const elapsed = p.startedMs === undefined ? 0 : (p.finishedMs ?? nowMs) - p.startedMs;
  const skipped = p.skipped > 0 ? `; skipped: ${p.skipped}` : '';
  if (p.width !== undefined)
    return `${clusterKey(p.dc, p.cluster).padEnd(nameWidth)} ${String(percent).padStart(3)}% (in flight ${p.inFlight}/${p.width}; ok ${p.ok}; fail ${p.failed}${p.skipped > 0 ? `; skipped ${p.skipped}` : ''}; left ${p.left}) ${formatElapsed(elapsed)}`;
  return `${clusterKey(p.dc, p.cluster).padEnd(nameWidth)} ${String(percent).padStart(3)}% (batch ${p.batch}/${p.batches}; in-flight: ${p.inFlight}; ok: ${p.ok}; fail: ${p.failed}${skipped}; left: ${p.left}) ${formatElapsed(elapsed)}`;
}

/** One aligned line per cluster. */
export function renderProgress(clusters: readonly ClusterProgress[], nowMs: number): string[] {
  const width = Math.max(0, ...clusters.map((c) => clusterKey(c.dc, c.cluster).length));
  return clusters.map((c) => renderProgressLine(c, nowMs, width));
}
