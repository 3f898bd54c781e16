import type { Reporter } from './events.js';
import { createNotableFilter } from './format.js';
import { createProgressTracker, renderProgress } from './progress.js';
import type { TextStream } from './stream.js';
import { createSummarizer } from './summary.js';
import { renderSummary } from './summary-render.js';

export interface TtyReporterOptions {
  readonly stream: TextStream;
  /** Milliseconds since the epoch, for elapsed times. */
  readonly now: () => number;
  /** How often the live block is redrawn between events (elapsed time); 0: only on events. */
  readonly intervalMs?: number;
  /** Red failures, yellow warnings. */
  readonly color?: boolean;
}

const ESC = '\x1b[';

function paint(line: string, color: boolean): string {
  if (!color) return line;
  if (line.includes(' FAILED ') || line.startsWith('interrupted')) return `${ESC}31m${line}${ESC}0m`;
  if (line.startsWith('warning:') || line.includes(' not repooled:')) return `${ESC}33m${line}${ESC}0m`;
  return line;
}

/**
 * For a terminal: one live line per cluster, rewritten in place; failures and warnings are
 * printed above it as they happen; the summary at close.
 */
/** The least time between two redraws of the live block caused by ordinary events. */
const REDRAW_MS = 100;

export function createTtyReporter(options: TtyReporterOptions): Reporter {
  const { stream, now } = options;
  const color = options.color ?? false;
  // Why: one record per host, folded as events come, instead of every event of the run.
  const summary = createSummarizer();
  let seen = 0;
  const progress = createProgressTracker();
  const notable = createNotableFilter();
  let drawn = 0;
  let lastDrawMs = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setInterval> | undefined;

  const fit = (line: string): string =>
    stream.columns !== undefined && line.length >= stream.columns
      ? line.slice(0, Math.max(1, stream.columns - 1))
      : line;
  // Why: back to the first live line and erase to the end of screen, so the block can shrink or grow.
  const erase = (): string => (drawn > 0 ? `${ESC}${drawn}F${ESC}J` : '');
  const block = (): string => {
    const lines = renderProgress(progress.clusters(), now()).map(fit);
    drawn = lines.length;
    return lines.map((l) => `${l}\n`).join('');
  };
  const redraw = (above: string | undefined): void => {
    const cleared = erase();
    const message = above === undefined ? '' : `${paint(above, color)}\n`;
    stream.write(`${cleared}${message}${block()}`);
  };

  return {
    emit(event) {
      summary.apply(event);
      seen += 1;
      progress.apply(event);
      const line = notable(event);
      // Why: a thousand hosts emit thousands of events a second; the block is redrawn at most every
      // REDRAW_MS for them, and at once for a line worth reading (a failure, a warning).
      if (line !== undefined || now() - lastDrawMs >= REDRAW_MS) {
        lastDrawMs = now();
        redraw(line);
      }
      if (timer === undefined && (options.intervalMs ?? 1000) > 0) {
        timer = setInterval(() => redraw(undefined), options.intervalMs ?? 1000);
        timer.unref();
      }
    },
    async close() {
      if (timer !== undefined) clearInterval(timer);
      // Nothing ran (e.g. an error before the first event): no block, no empty summary.
      if (seen === 0) return;
      redraw(undefined);
      stream.write(`\n${renderSummary(summary.result())}`);
    },
  };
}
