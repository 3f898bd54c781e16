import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { redactSecrets } from './log-redact.js';
import { logFileDestination, type LogFileDestination } from './log-file.js';
import type { RolloutEvent } from './report/events.js';
import { describeEvent } from './report/format.js';
import { xdgDir } from './xdg.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** A JSON log file (created with its directories); see defaultLogFile. */
  readonly file?: string;
  /** pino level name; default "info". */
  readonly level?: string;
  /** Another destination (tests, stderr); with `file`, both get every line. */
  readonly stream?: { write(text: string): void };
  /** Registers a listener run on process exit (Io.onExit): the file's last lines are written then. */
  readonly onExit?: (listener: () => void) => () => void;
}

/**
 * The run's JSON log. The file gets one write per event-loop turn (src/log-file.ts); `log.flush(cb)`
 * calls back once every line is in the file, and with `onExit` what is left is written on any exit
 * that runs exit handlers (process.exit, an uncaught error). Only a SIGKILL can lose the last turn's lines.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destinations: DestinationStream[] = [];
  if (options.file !== undefined) {
    const file = fileDestination(options.file);
    options.onExit?.(() => file.flush());
    destinations.push(file);
  }
  if (options.stream !== undefined) destinations.push(options.stream);
  if (destinations.length === 0) destinations.push(pino.destination({ dest: 2, sync: true }));
  const level = options.level ?? 'info';
  return pino(
    {
      level,
      // Why: run.started already says who and where (user, machine, pid); events carry their own names.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Why: never log a private key, a passphrase or an etcd password (STYLE.md), at any of 3 depths.
      formatters: { log: redactSecrets },
    },
    destinations.length === 1 && destinations[0] !== undefined ? destinations[0] : tee(destinations),
  );
}

/** Opened synchronously (so a flush on exit always has a file), written once per event-loop turn. */
function fileDestination(file: string): LogFileDestination {
  return logFileDestination(openPrivate(file));
}

/** Every line to each destination; unlike pino.multistream, `flush(cb)` waits for each of them. */
function tee(destinations: readonly DestinationStream[]): DestinationStream & Pick<LogFileDestination, 'flush'> {
  return {
    write: (line: string) => {
      for (const d of destinations) d.write(line);
    },
    flush: (cb) => {
      let left = destinations.length;
      let first: Error | undefined;
      const done = (error?: Error): void => {
        first ??= error;
        left -= 1;
        if (left === 0) cb?.(first);
      };
      for (const d of destinations) {
        const flush = (d as Partial<Pick<LogFileDestination, 'flush'>>).flush;
        if (typeof flush === 'function') flush.call(d, done);
        else done();
      }
    },
  };
}

/**
 * Opens a log for appending, readable by its owner only: it holds remote command output. Folders
 * it creates are 0700, the file 0600, whatever the umask (an existing file of ours is narrowed too).
 */
export function openPrivate(file: string): number {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
  } catch {
    // Why: someone else's file (a shared --log-file) keeps its mode; it is theirs to set.
  }
  return fd;
}

/** A logger that writes nothing, for tests. */
export function nullLogger(): Logger {
  return pino({ level: 'silent' });
}

/** `$XDG_STATE_HOME/rollout/<runId>.log`, else `~/.local/state/rollout/<runId>.log`. */
export function defaultLogFile(runId: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return path.join(xdgDir(env, 'XDG_STATE_HOME', path.join('.local', 'state')), 'rollout', `${runId}.log`);
}

function levelOf(event: RolloutEvent): 'info' | 'warn' | 'error' {
  switch (event.event) {
    case 'host.failed':
      return 'error';
    case 'health.failed':
    case 'host.repool-skipped':
    case 'lb.propagation-assumed':
    case 'capacity.waiting':
    case 'slot.waiting':
    case 'canary.failed':
    case 'canary.skipped':
    case 'run.warning':
    case 'run.interrupted':
    case 'run.paused':
    case 'run.aborted':
      return 'warn';
    case 'run.finished':
      return event.exitCode === 0 ? 'info' : 'warn';
    default:
      return 'info';
  }
}

/** One log line per event: its fields (the log line's own time replaces `time`) and a readable msg. */
export function logEvent(log: Logger, event: RolloutEvent): void {
  const { time: _time, ...fields } = event;
  log[levelOf(event)](fields, describeEvent(event));
}
