import type { Reporter } from './events.js';
import { createLinesReporter } from './lines.js';
import { createNdjsonReporter } from './ndjson.js';
import type { TextStream } from './stream.js';
import { createTtyReporter } from './tty.js';
import { coalescedStream } from './coalesced-stream.js';
import { terminalSafeReporter } from './terminal-safe.js';

export interface ChooseReporterOptions {
  readonly stream: TextStream;
  readonly now: () => number;
  /** `--json`. */
  readonly json: boolean;
  /** Whether the stream is a terminal (process.stdout.isTTY). */
  readonly isTTY: boolean;
  readonly color?: boolean;
  /** Registers a listener run on process exit (Io.onExit): lines still waiting are written then. */
  readonly onExit?: (listener: () => void) => () => void;
}

/** `--json` → NDJSON, a terminal → live TTY lines, anything else (CI, a pipe) → plain lines. */
export function chooseReporter(options: ChooseReporterOptions): Reporter {
  const { now } = options;
  // Why: remote output rides in events (failure reasons, health details); NDJSON escapes it, text must be cleaned.
  if (options.isTTY)
    return terminalSafeReporter(createTtyReporter({ stream: options.stream, now, color: options.color ?? false }));
  const stream = coalescedStream(options.stream, options.onExit);
  const inner = options.json
    ? createNdjsonReporter({ stream, now })
    : terminalSafeReporter(createLinesReporter({ stream, now }));
  return {
    emit: (event) => inner.emit(event),
    async close() {
      await inner.close();
      stream.flush();
    },
  };
}
