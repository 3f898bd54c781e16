// The Transport contract: one suite, run against the memory adapter, an in-process ssh2 server
// and a real OpenSSH sshd, so the fake behaves like the real thing where the orchestrator looks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../src/errors.js';
import type { SshTarget, Transport } from '../../src/transport/types.js';

/** Commands the suite runs; a scripted fake must answer them like `sh -c` would. */
export const CONTRACT_COMMANDS = {
  hello: 'echo hello',
  failing: 'echo oops >&2; exit 3',
  both: 'echo out; echo err >&2',
  slow: 'sleep 30',
} as const;

export interface TransportFixture {
  readonly transport: Transport;
  /** A target that answers the contract commands. */
  target(): SshTarget;
  /** A target where nothing listens (connection refused). */
  unreachable(): SshTarget;
  stop(): Promise<void>;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function transportContract(name: string, setup: () => Promise<TransportFixture>): void {
  // Why: generous limits; real servers on a loaded 2-core machine can be slow to fork shells.
  describe(`Transport contract: ${name}`, { timeout: 120_000 }, () => {
    let fx: TransportFixture;
    beforeAll(async () => {
      fx = await setup();
    });
    afterAll(async () => {
      await fx.transport.close();
      await fx.stop();
    });

    it('resolves exit code 0 and stdout of a command that succeeds', async () => {
      const result = await fx.transport.exec(fx.target(), CONTRACT_COMMANDS.hello, { timeoutMs: 60_000 });
      expect(result).toMatchObject({ exitCode: 0, signal: null, stdout: 'hello\n', stderr: '' });
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('resolves a non-zero exit as a result, with its stderr', async () => {
      const result = await fx.transport.exec(fx.target(), CONTRACT_COMMANDS.failing, { timeoutMs: 60_000 });
      expect(result).toMatchObject({ exitCode: 3, stdout: '', stderr: 'oops\n' });
    });

    it('keeps stdout and stderr apart', async () => {
      const result = await fx.transport.exec(fx.target(), CONTRACT_COMMANDS.both, { timeoutMs: 60_000 });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n' });
    });

    it('throws E_SSH_TIMEOUT naming the host when a command outlives its timeout', async () => {
      const target = fx.target();
      const error = await rejection(fx.transport.exec(target, CONTRACT_COMMANDS.slow, { timeoutMs: 300 }));
      expect(isRolloutError(error, 'E_SSH_TIMEOUT')).toBe(true);
      expect(error).toMatchObject({ host: target.host });
      expect((error as Error).message).toContain(target.host);
    });

    it('runs the next command normally after a timeout', async () => {
      await rejection(fx.transport.exec(fx.target(), CONTRACT_COMMANDS.slow, { timeoutMs: 200 }));
      const result = await fx.transport.exec(fx.target(), CONTRACT_COMMANDS.hello, { timeoutMs: 60_000 });
      expect(result.stdout).toBe('hello\n');
    });

    it('stops a command when its signal aborts, naming the host', async () => {
      const target = fx.target();
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('operator pressed ^C')), 200);
      const error = await rejection(
        fx.transport.exec(target, CONTRACT_COMMANDS.slow, { timeoutMs: 60_000, signal: controller.signal }),
      );
      expect(isRolloutError(error, 'E_INTERRUPTED')).toBe(true);
      expect(error).toMatchObject({ host: target.host });
    });

    it('throws E_SSH_CONNECT naming the host and address:port when nothing listens', async () => {
      const target = fx.unreachable();
      const error = await rejection(fx.transport.exec(target, CONTRACT_COMMANDS.hello, { timeoutMs: 60_000 }));
      expect(isRolloutError(error, 'E_SSH_CONNECT')).toBe(true);
      expect(error).toMatchObject({ host: target.host });
      expect((error as Error).message).toContain(`${target.host} (${target.address}:${target.port}`);
    });

    it('runs twenty commands in parallel, each with its own result', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          fx.transport.exec(fx.target(), i % 2 === 0 ? CONTRACT_COMMANDS.hello : CONTRACT_COMMANDS.failing, {
            timeoutMs: 60_000,
          }),
        ),
      );
      results.forEach((result, i) => expect(result.exitCode).toBe(i % 2 === 0 ? 0 : 3));
    });
  });
}
