import type { Reporter } from './events.js';
import { clusterKey, createNotableFilter, formatElapsed } from './format.js';
import { createProgressTracker, renderProgressLine } from './progress.js';
import type { ClusterProgress } from './progress.js';
import type { TextStream } from './stream.js';
import { createSummarizer } from './summary.js';
import { renderSummary } from './summary-render.js';

export interface LinesReporterOptions {
  readonly stream: TextStream;
  /** Milliseconds since the epoch, for elapsed times and the progress throttle. */
  readonly now: () => number;
  /** At most one progress line per cluster this often (and one when the cluster finishes). */
  readonly everyMs?: number;
}

/**
 * For logs and CI (no cursor movement): notable events at once, a progress line per cluster
 * at most every `everyMs` (also while nothing happens), the summary at close.
 */
export function createLinesReporter(options: LinesReporterOptions): Reporter {
  const { stream, now } = options;
  const everyMs = options.everyMs ?? 5000;
  // Why: one record per host, folded as events come, instead of every event of the run.
  const summary = createSummarizer();
  let seen = 0;
  const progress = createProgressTracker();
  const notable = createNotableFilter();
  const lastPrinted = new Map<string, number>();
  let startMs: number | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;

  const finalPrinted = new Set<string>();
  const write = (line: string): void => stream.write(`[${formatElapsed(now() - (startMs ?? now()))}] ${line}\n`);
  const print = (p: ClusterProgress): void => {
    lastPrinted.set(clusterKey(p.dc, p.cluster), now());
    write(renderProgressLine(p, now()));
  };
  const due = (p: ClusterProgress): boolean =>
    p.startedMs !== undefined &&
    p.finishedMs === undefined &&
    now() - (lastPrinted.get(clusterKey(p.dc, p.cluster)) ?? -Infinity) >= everyMs;
  const afterEvent = (dc: string, cluster: string): void => {
    const key = clusterKey(dc, cluster);
    const p = progress.clusters().find((c) => clusterKey(c.dc, c.cluster) === key);
    if (p === undefined) return;
    if (p.finishedMs !== undefined && !finalPrinted.has(key)) {
      finalPrinted.add(key);
      print(p);
    } else if (due(p)) {
      print(p);
    }
  };

  return {
    emit(event) {
      startMs ??= now();
      summary.apply(event);
      seen += 1;
      progress.apply(event);
      if (event.event === 'batch.started') lastPrinted.set(clusterKey(event.dc, event.cluster), now());
      const line = notable(event);
      if (line !== undefined) write(line);
      // Why: the counts only move when a host ends; the timer covers the waits in between.
      if (event.event === 'host.done' || event.event === 'host.failed' || event.event === 'host.skipped')
        afterEvent(event.dc, event.cluster);
      if (timer === undefined && everyMs > 0) {
        // Why: a long drain or health wait emits nothing; a line now and then shows the run is alive.
        timer = setInterval(() => progress.clusters().filter(due).forEach(print), everyMs);
        timer.unref();
      }
    },
    async close() {
      if (timer !== undefined) clearInterval(timer);
      if (seen > 0) stream.write(`\n${renderSummary(summary.result())}`);
    },
  };
}
