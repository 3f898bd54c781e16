import type { Reporter } from './events.js';
import type { TextStream } from './stream.js';
import { createSummarizer } from './summary.js';
import type { RunSummary } from './summary.js';

/** The last NDJSON line of a run (not a RolloutEvent: it is derived from all of them). */
export type RunSummaryLine = { readonly event: 'run.summary'; readonly time: string } & RunSummary;

export interface NdjsonReporterOptions {
  readonly stream: TextStream;
  /** Milliseconds since the epoch, for the summary line's time. */
  readonly now: () => number;
}

/** `--json`: one JSON object per event per line, then one `run.summary` line at close. */
export function createNdjsonReporter(options: NdjsonReporterOptions): Reporter {
  // Why: one record per host, folded as events come, instead of every event of the run.
  const summary = createSummarizer();
  return {
    emit(event) {
      summary.apply(event);
      options.stream.write(`${JSON.stringify(event)}\n`);
    },
    async close() {
      const line: RunSummaryLine = {
        event: 'run.summary',
        time: new Date(options.now()).toISOString(),
        ...summary.result(),
      };
      options.stream.write(`${JSON.stringify(line)}\n`);
    },
  };
}
