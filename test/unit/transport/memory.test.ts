import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { createMemoryTransport } from '../../../src/transport/memory.js';
import type { SshTarget } from '../../../src/transport/types.js';
import { CONTRACT_COMMANDS, transportContract } from '../../contract/transport.contract.js';

function target(host: string): SshTarget {
  return {
    host,
    address: `${host}.example`,
    port: 22,
    user: 'deploy',
    identityFile: undefined,
    knownHosts: '/dev/null',
    jumpHost: undefined,
    connectTimeoutSeconds: 5,
    acceptNewHostKeys: false,
  };
}

transportContract('memory', () => {
  const transport = createMemoryTransport()
    .script('*', (command) => {
      if (command === CONTRACT_COMMANDS.hello) return { stdout: 'hello\n' };
      if (command === CONTRACT_COMMANDS.failing) return { exitCode: 3, stderr: 'oops\n' };
      if (command === CONTRACT_COMMANDS.both) return { stdout: 'out\n', stderr: 'err\n' };
      // Why: `sleep 30` never answers, so only the timeout or the signal ends it.
      return new Promise(() => undefined);
    })
    .failConnect('unreachable');
  return Promise.resolve({
    transport,
    target: () => target('mw1'),
    unreachable: () => target('unreachable'),
    stop: () => Promise.resolve(),
  });
});

describe('memory transport', () => {
  it('records every call, in order, including failed connects', async () => {
    const transport = createMemoryTransport().failConnect('mw2');
    await transport.exec(target('mw1'), 'restart', { timeoutMs: 1000 });
    await expect(transport.exec(target('mw2'), 'restart', { timeoutMs: 1000 })).rejects.toThrow(/mw2/);
    await transport.exec(target('mw1'), 'check', { timeoutMs: 1000 });
    expect(transport.calls).toEqual([
      { host: 'mw1', command: 'restart' },
      { host: 'mw2', command: 'restart' },
      { host: 'mw1', command: 'check' },
    ]);
    expect(transport.commandsOn('mw1')).toEqual(['restart', 'check']);
  });

  it('answers exit 0 with no output for a host nothing was scripted for', async () => {
    const result = await createMemoryTransport().exec(target('mw1'), 'anything', { timeoutMs: 1000 });
    expect(result).toEqual({ exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 0 });
  });

  it('prefers a respond rule over the host script, and a host of its own over "*"', async () => {
    const transport = createMemoryTransport()
      .script('*', () => ({ stdout: 'default' }))
      .script('mw1', () => ({ stdout: 'script' }))
      .respond('mw1', /^systemctl restart/, { exitCode: 1, stderr: 'Job failed' });
    expect((await transport.exec(target('mw1'), 'systemctl restart php8.2-fpm', { timeoutMs: 1000 })).exitCode).toBe(1);
    expect((await transport.exec(target('mw1'), 'uptime', { timeoutMs: 1000 })).stdout).toBe('script');
    expect((await transport.exec(target('mw9'), 'uptime', { timeoutMs: 1000 })).stdout).toBe('default');
  });

  it('fails connects with the chosen code until the host is healed', async () => {
    const transport = createMemoryTransport().failConnect('mw1', 'E_SSH_HOSTKEY');
    const error: unknown = await transport.exec(target('mw1'), 'x', { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_SSH_HOSTKEY')).toBe(true);
    expect(error).toMatchObject({ host: 'mw1' });
    transport.heal('mw1');
    expect((await transport.exec(target('mw1'), 'x', { timeoutMs: 1000 })).exitCode).toBe(0);
  });

  it('waits for delays and timeouts through the injected sleep', async () => {
    const slept: number[] = [];
    const sleep = (ms: number): Promise<void> => {
      slept.push(ms);
      return Promise.resolve();
    };
    const transport = createMemoryTransport({ sleep }).delay('mw1', 2000).hang('mw2');
    const result = await transport.exec(target('mw1'), 'restart', { timeoutMs: 5000 });
    expect(result.durationMs).toBe(2000);
    await expect(transport.exec(target('mw2'), 'restart', { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'E_SSH_TIMEOUT',
      host: 'mw2',
    });
    expect(slept).toContain(2000);
    expect(slept).toContain(5000);
  });

  it('times out a delay longer than the timeout instead of answering', async () => {
    const transport = createMemoryTransport({ sleep: () => Promise.resolve() })
      .delay('mw1', 10_000)
      .script('mw1', () => ({ stdout: 'late' }));
    await expect(transport.exec(target('mw1'), 'x', { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'E_SSH_TIMEOUT',
    });
  });

  it('refuses to start a command whose signal is already aborted', async () => {
    const transport = createMemoryTransport();
    await expect(
      transport.exec(target('mw1'), 'x', { timeoutMs: 1000, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'E_INTERRUPTED', host: 'mw1' });
  });

  it('counts close() calls', async () => {
    const transport = createMemoryTransport();
    await transport.close();
    expect(transport.closeCount).toBe(1);
  });
});
