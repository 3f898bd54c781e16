// The ssh2 transport against an in-process ssh2 Server on 127.0.0.1.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { createSshTransport } from '../../../src/transport/ssh.js';
import type { SshTarget } from '../../../src/transport/types.js';
import { transportContract } from '../../contract/transport.contract.js';
import { keygen } from '../../support/ssh-keys.js';
import { startSshServer } from '../../support/ssh-server.js';
import type { TestSshServer } from '../../support/ssh-server.js';
import { removeTempDirs, tempDir } from '../../support/tmp.js';

afterAll(removeTempDirs);

const NO_AGENT = { PATH: process.env.PATH };

/** Polls `done` every 20 ms; the test's own timeout bounds it. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
}

function targetOf(server: TestSshServer, overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: 'app1',
    address: server.address,
    port: server.port,
    user: server.user,
    identityFile: server.clientKey.privatePath,
    knownHosts: server.knownHosts,
    jumpHost: undefined,
    connectTimeoutSeconds: 5,
    acceptNewHostKeys: false,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

transportContract('ssh2 transport against an in-process ssh2 server', async () => {
  const server = await startSshServer();
  const transport = createSshTransport({ env: NO_AGENT });
  return {
    transport,
    target: () => targetOf(server),
    // Why: port 1 on loopback has no listener, so the connection is refused at once.
    unreachable: () => targetOf(server, { host: 'gone1', port: 1 }),
    stop: () => server.stop(),
  };
});

describe('ssh2 transport against an in-process ssh2 server', { timeout: 120_000 }, () => {
  let server: TestSshServer;
  beforeAll(async () => {
    server = await startSshServer({ commands: { uptime: { stdout: 'up 3 days\n' }, false: { exitCode: 1 } } });
  });
  afterAll(() => server.stop());

  it('runs 200 execs in parallel, all over one TCP connection', async () => {
    const transport = createSshTransport({ env: NO_AGENT });
    const before = server.connections();
    const results = await Promise.all(
      Array.from({ length: 200 }, () => transport.exec(targetOf(server), 'uptime', { timeoutMs: 60_000 })),
    );
    await transport.close();
    expect(results.every((r) => r.exitCode === 0 && r.stdout === 'up 3 days\n')).toBe(true);
    expect(server.connections() - before).toBe(1);
  });

  it('reuses one connection for many sequential execs', async () => {
    const transport = createSshTransport({ env: NO_AGENT });
    const before = server.connections();
    for (let i = 0; i < 5; i += 1) await transport.exec(targetOf(server), 'false', { timeoutMs: 60_000 });
    await transport.close();
    expect(server.connections() - before).toBe(1);
  });

  it('re-establishes a dropped connection on the next exec', async () => {
    const transport = createSshTransport({ env: NO_AGENT });
    const before = server.connections();
    await transport.exec(targetOf(server), 'uptime', { timeoutMs: 60_000 });
    server.dropConnections();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await transport.exec(targetOf(server), 'uptime', { timeoutMs: 60_000 });
    await transport.close();
    expect(result.stdout).toBe('up 3 days\n');
    expect(server.connections() - before).toBe(2);
  });

  it('throws E_SSH_AUTH when the server does not accept the key', async () => {
    const other = keygen(join(tempDir('rollout-key-'), 'id_ed25519'), 'ed25519');
    const transport = createSshTransport({ env: NO_AGENT });
    const error = await rejection(
      transport.exec(targetOf(server, { identityFile: other.privatePath }), 'uptime', { timeoutMs: 60_000 }),
    );
    await transport.close();
    expect(isRolloutError(error, 'E_SSH_AUTH')).toBe(true);
    expect(error.message).toContain(`app1 (127.0.0.1:${server.port})`);
  });

  it('throws E_SSH_AUTH when there is neither a key file nor an agent', async () => {
    const transport = createSshTransport({ env: NO_AGENT });
    const error = await rejection(
      transport.exec(targetOf(server, { identityFile: undefined }), 'uptime', { timeoutMs: 60_000 }),
    );
    expect(isRolloutError(error, 'E_SSH_AUTH')).toBe(true);
    expect(error.message).toMatch(/SSH_AUTH_SOCK/);
  });

  it('reach opens an authenticated connection and runs nothing; the next exec reuses it', async () => {
    const transport = createSshTransport({ env: NO_AGENT });
    const before = { connections: server.connections(), execs: server.execs() };
    await transport.reach(targetOf(server), { timeoutMs: 60_000 });
    expect({ connections: server.connections() - before.connections, execs: server.execs() - before.execs }).toEqual({
      connections: 1,
      execs: 0,
    });
    await transport.exec(targetOf(server), 'uptime', { timeoutMs: 60_000 });
    await transport.close();
    expect(server.connections() - before.connections).toBe(1);
  });

  it('reach refuses an unknown host key and a refused key as exec does', async () => {
    const empty = join(tempDir('rollout-kh-'), 'known_hosts');
    writeFileSync(empty, '');
    const other = keygen(join(tempDir('rollout-key-'), 'id_ed25519'), 'ed25519');
    const transport = createSshTransport({ env: NO_AGENT });
    const hostKey = await rejection(transport.reach(targetOf(server, { knownHosts: empty }), { timeoutMs: 60_000 }));
    const auth = await rejection(
      transport.reach(targetOf(server, { identityFile: other.privatePath }), { timeoutMs: 60_000 }),
    );
    await transport.close();
    expect([isRolloutError(hostKey, 'E_SSH_HOSTKEY'), isRolloutError(auth, 'E_SSH_AUTH')]).toEqual([true, true]);
  });

  it("release closes the host's connection once its commands end; the next exec opens a new one", async () => {
    const shell = await startSshServer();
    const transport = createSshTransport({ env: NO_AGENT });
    try {
      const slow = transport.exec(targetOf(shell), 'sleep 0.5; echo done', { timeoutMs: 60_000 });
      await until(() => shell.execs() === 1);
      transport.release(targetOf(shell));
      // Why: a command in flight when its host is released still finishes on the same connection.
      expect((await slow).stdout).toBe('done\n');
      await until(() => shell.openConnections() === 0);
      await transport.exec(targetOf(shell), 'true', { timeoutMs: 60_000 });
      expect(shell.connections()).toBe(2);
    } finally {
      await transport.close();
      await shell.stop();
    }
  });

  it('sees a known_hosts file that changed since it was read', async () => {
    const file = join(tempDir('rollout-kh-'), 'known_hosts');
    writeFileSync(file, '');
    const transport = createSshTransport({ env: NO_AGENT });
    const first = await rejection(
      transport.exec(targetOf(server, { knownHosts: file }), 'uptime', { timeoutMs: 60_000 }),
    );
    writeFileSync(file, readFileSync(server.knownHosts));
    const second = await transport.exec(targetOf(server, { knownHosts: file }), 'uptime', { timeoutMs: 60_000 });
    await transport.close();
    expect([isRolloutError(first, 'E_SSH_HOSTKEY'), second.exitCode]).toEqual([true, 0]);
  });

  it('refuses an unknown host key with E_SSH_HOSTKEY and the key fingerprint ssh-keygen prints', async () => {
    const empty = join(tempDir('rollout-kh-'), 'known_hosts');
    writeFileSync(empty, '');
    const transport = createSshTransport({ env: NO_AGENT });
    const error = await rejection(
      transport.exec(targetOf(server, { knownHosts: empty }), 'uptime', { timeoutMs: 60_000 }),
    );
    expect(isRolloutError(error, 'E_SSH_HOSTKEY')).toBe(true);
    expect(error).toMatchObject({ host: 'app1' });
    expect(error.message).toContain(server.hostKey.fingerprint);
  });
});

describe('private key passphrases', { timeout: 120_000 }, () => {
  const passphrase = 'correct horse battery staple';
  let server: TestSshServer;
  let keyPath: string;
  beforeAll(async () => {
    const key = keygen(join(tempDir('rollout-key-'), 'id_ed25519'), 'ed25519', passphrase);
    keyPath = key.privatePath;
    server = await startSshServer({
      commands: { whoami: { stdout: 'deploy\n' } },
      authorizedKeyFiles: [key.publicPath],
    });
  });
  afterAll(() => server.stop());

  it('decrypts the key with the passphrase from ROLLOUT_SSH_PASSPHRASE', async () => {
    const transport = createSshTransport({ env: { ROLLOUT_SSH_PASSPHRASE: passphrase } });
    const result = await transport.exec(targetOf(server, { identityFile: keyPath }), 'whoami', { timeoutMs: 60_000 });
    await transport.close();
    expect(result.stdout).toBe('deploy\n');
  });

  it('throws E_SSH_AUTH naming the variable, never the passphrase, when it is wrong', async () => {
    const transport = createSshTransport({ env: { ROLLOUT_SSH_PASSPHRASE: 'wrong secret' } });
    const error = await rejection(
      transport.exec(targetOf(server, { identityFile: keyPath }), 'whoami', { timeoutMs: 60_000 }),
    );
    expect(isRolloutError(error, 'E_SSH_AUTH')).toBe(true);
    expect(error.message).toContain('ROLLOUT_SSH_PASSPHRASE');
    expect(error.message).toContain(keyPath);
    expect(error.message).not.toContain('wrong secret');
  });
});

describe('limits and timeouts', { timeout: 120_000 }, () => {
  it('retries a session open the server refused on a live connection, and runs the command once', async () => {
    const busy = await startSshServer({ commands: { uptime: { stdout: 'up\n' } }, refuseSessions: 3 });
    const transport = createSshTransport({ env: NO_AGENT });
    try {
      await expect(transport.exec(targetOf(busy), 'uptime', { timeoutMs: 60_000 })).resolves.toMatchObject({
        exitCode: 0,
        stdout: 'up\n',
      });
      expect({ refused: busy.refusedSessions(), execs: busy.execs(), connections: busy.connections() }).toEqual({
        refused: 3,
        execs: 1,
        connections: 1,
      });
    } finally {
      await transport.close();
      await busy.stop();
    }
  });

  it('gives up with E_SSH_CONNECT naming MaxSessions when every session open is refused, having run nothing', async () => {
    const full = await startSshServer({ commands: { uptime: { stdout: 'up\n' } }, refuseSessions: Infinity });
    const transport = createSshTransport({ env: NO_AGENT });
    try {
      const error = await rejection(transport.exec(targetOf(full), 'uptime', { timeoutMs: 60_000 }));
      expect(isRolloutError(error) && error.code).toBe('E_SSH_CONNECT');
      expect(error.message).toMatch(/app1.*cannot open an SSH session.*MaxSessions/);
      expect(full.execs()).toBe(0);
      expect(full.refusedSessions()).toBeGreaterThan(1);
    } finally {
      await transport.close();
      await full.stop();
    }
  });

  it('runs no more commands at once than its concurrency', async () => {
    const server = await startSshServer();
    const transport = createSshTransport({ env: NO_AGENT, concurrency: 3 });
    await Promise.all(
      Array.from({ length: 12 }, () => transport.exec(targetOf(server), 'sleep 0.2', { timeoutMs: 30_000 })),
    );
    await transport.close();
    await server.stop();
    expect(server.maxRunning()).toBeLessThanOrEqual(3);
    expect(server.execs()).toBe(12);
  });

  it('opens no more sessions on one connection than sessionsPerConnection', async () => {
    const server = await startSshServer();
    const transport = createSshTransport({ env: NO_AGENT, sessionsPerConnection: 2 });
    await Promise.all(
      Array.from({ length: 8 }, () => transport.exec(targetOf(server), 'sleep 0.2', { timeoutMs: 30_000 })),
    );
    await transport.close();
    await server.stop();
    expect(server.maxRunning()).toBeLessThanOrEqual(2);
    expect(server.connections()).toBe(1);
  });

  describe('against a server that accepts TCP and never speaks SSH', () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    let port = 0;
    beforeAll(async () => {
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      port = (silent.address() as AddressInfo).port;
    });
    afterAll(async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    });
    const target = (overrides: Partial<SshTarget>): SshTarget => ({
      host: 'mute1',
      address: '127.0.0.1',
      port,
      user: 'deploy',
      identityFile: undefined,
      knownHosts: '/nonexistent/known_hosts',
      jumpHost: undefined,
      connectTimeoutSeconds: 1,
      acceptNewHostKeys: false,
      ...overrides,
    });

    it('gives up with E_SSH_CONNECT after connectTimeoutSeconds', async () => {
      const transport = createSshTransport({ env: { SSH_AUTH_SOCK: '/nonexistent/agent.sock' } });
      const error = await rejection(transport.exec(target({}), 'true', { timeoutMs: 20_000 }));
      await transport.close();
      expect(isRolloutError(error, 'E_SSH_CONNECT')).toBe(true);
      expect(error.message).toContain(`mute1 (127.0.0.1:${port}): no SSH handshake within 1s`);
    });

    it('gives up with E_SSH_TIMEOUT when the command timeout ends first', async () => {
      const transport = createSshTransport({ env: { SSH_AUTH_SOCK: '/nonexistent/agent.sock' } });
      const error = await rejection(transport.exec(target({ connectTimeoutSeconds: 30 }), 'true', { timeoutMs: 300 }));
      await transport.close();
      expect(isRolloutError(error, 'E_SSH_TIMEOUT')).toBe(true);
      expect(error).toMatchObject({ host: 'mute1' });
    });
  });
});
