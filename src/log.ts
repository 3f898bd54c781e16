import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { DestinationStream, Level, Logger } from 'pino';
import type { RolloutEvent } from './report/events.js';
import { describeEvent } from './report/format.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** A JSON log file (created with its directories); see defaultLogFile. */
  readonly file?: string;
  /** pino level name; default "info". */
  readonly level?: string;
  /** Another destination (tests, stderr); with `file`, both get every line. */
  readonly stream?: { write(text: string): void };
}

const SECRET_KEYS = ['passphrase', 'password', 'privateKey', 'private_key', 'etcdPassword'];

/** Never log a private key, a passphrase or an etcd password (STYLE.md), at any of 3 depths. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/**
 * The run's JSON log. Written asynchronously, so a thousand hosts' events never wait on the disk;
 * pino flushes what is left synchronously on exit (and on a crash that still runs exit handlers).
 * Only a SIGKILL can lose the last few milliseconds of lines; the journal in etcd is unaffected.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destinations: DestinationStream[] = [];
  if (options.file !== undefined) destinations.push(asyncFileDestination(options.file));
  if (options.stream !== undefined) destinations.push(options.stream);
  if (destinations.length === 0) destinations.push(pino.destination({ dest: 2, sync: true }));
  const level = options.level ?? 'info';
  const destination =
    destinations.length === 1 && destinations[0] !== undefined
      ? destinations[0]
      : pino.multistream(destinations.map((stream) => ({ stream, level: level as Level })));
  return pino(
    {
      level,
      // Why: run.started already says who and where (user, machine, pid); events carry their own names.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    destination,
  );
}

/** Opened synchronously (so a flush on exit always has a file), written asynchronously. */
function asyncFileDestination(file: string): DestinationStream {
  return pino.destination({ dest: openPrivate(file), sync: false });
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
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const state =
    xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(state, 'rollout', `${runId}.log`);
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
