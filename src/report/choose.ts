import type { Reporter } from './events.js';
import { createLinesReporter } from './lines.js';
import { createNdjsonReporter } from './ndjson.js';
import type { TextStream } from './stream.js';
import { createTtyReporter } from './tty.js';
import { terminalSafeReporter } from './terminal-safe.js';

export interface ChooseReporterOptions {
  readonly stream: TextStream;
  readonly now: () => number;
  /** `--json`. */
  readonly json: boolean;
  /** Whether the stream is a terminal (process.stdout.isTTY). */
  readonly isTTY: boolean;
  readonly color?: boolean;
}

/** `--json` → NDJSON, a terminal → live TTY lines, anything else (CI, a pipe) → plain lines. */
export function chooseReporter(options: ChooseReporterOptions): Reporter {
  const { stream, now } = options;
  if (options.json) return createNdjsonReporter({ stream, now });
  // Why: remote output rides in events (failure reasons, health details); NDJSON escapes it, text must be cleaned.
  if (options.isTTY) return terminalSafeReporter(createTtyReporter({ stream, now, color: options.color ?? false }));
  return terminalSafeReporter(createLinesReporter({ stream, now }));
}
