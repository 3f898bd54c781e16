import type { Client as SshClient, ClientChannel } from 'ssh2';
import type { ExecResult } from './types.js';

/** The session could not be opened, so the command never ran: safe to retry on a fresh connection. @internal */
export class SessionOpenError extends Error {
  override readonly name = 'SessionOpenError';
}

/** Grace between TERM and KILL on a timed-out command, before the channel is closed. */
const KILL_GRACE_MS = 250;

function stop(channel: ClientChannel): void {
  // Why: OpenSSH sshd honours signal requests since 7.9; older servers ignore them, and closing the channel still ends our side.
  try {
    channel.signal('TERM');
  } catch {
    // The channel may already be gone.
  }
  setTimeout(() => {
    try {
      channel.signal('KILL');
    } catch {
      // Already closed.
    }
    channel.close();
  }, KILL_GRACE_MS).unref();
}

/**
 * Runs one command in a new session of an open connection. Resolves on exit, whatever the
 * exit code; rejects with `signal.reason` when aborted (the remote command gets TERM, KILL,
 * then the channel is closed). @internal
 */
export function runCommand(
  client: SshClient,
  command: string,
  signal: AbortSignal,
  startedAt: number,
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    let channel: ClientChannel | undefined;
    const onAbort = (): void => {
      if (channel !== undefined) stop(channel);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      client.exec(command, (error, stream) => {
        if (error) {
          signal.removeEventListener('abort', onAbort);
          return reject(new SessionOpenError(error.message, { cause: error }));
        }
        channel = stream;
        if (signal.aborted) return stop(stream);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let exitCode: number | null = null;
        let exitSignal: string | null = null;
        stream.on('data', (chunk: Buffer) => out.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => err.push(chunk));
        stream.on('exit', (code: number | null, name?: string) => {
          if (typeof code === 'number') exitCode = code;
          if (typeof name === 'string') exitSignal = name;
        });
        stream.on('close', () => {
          signal.removeEventListener('abort', onAbort);
          resolve({
            exitCode,
            signal: exitSignal,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
            durationMs: Date.now() - startedAt,
          });
        });
      });
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      return reject(new SessionOpenError((error as Error).message, { cause: error }));
    }
  });
}
