import fs from 'node:fs';

/** A pino destination for the run log; see logFileDestination. */
export interface LogFileDestination {
  write(line: string): void;
  /** Writes what is pending, then calls back: the lines are in the file when `cb` runs. */
  flush(cb?: (error?: Error) => void): void;
  /** Writes what is pending before returning (process exit handlers). */
  flushSync(): void;
}

/**
 * Lines are gathered and written by one write(2) per event-loop turn, so a thousand hosts' events never
 * wait on the disk line by line. No write is ever in flight: unlike pino's async destination, whose
 * `flush` called back while a write was still queued, `flush` and `flushSync` are true when they return.
 */
export function logFileDestination(fd: number): LogFileDestination {
  let pending: string[] = [];
  let turn: NodeJS.Immediate | null = null;
  let failure: Error | null = null;
  const writeAll = (): void => {
    if (turn !== null) clearImmediate(turn);
    turn = null;
    if (pending.length === 0) return;
    const bytes = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done);
  };
  const writeOrKeep = (): void => {
    try {
      writeAll();
    } catch (error) {
      // Why: a full disk must not crash the run; the journal in etcd is what recover needs. flush reports it.
      failure ??= error as Error;
    }
  };
  return {
    write(line) {
      pending.push(line);
      turn ??= setImmediate(writeOrKeep);
    },
    flush(cb) {
      writeOrKeep();
      cb?.(failure ?? undefined);
    },
    flushSync: writeAll,
  };
}
