// The ssh2 transport against real OpenSSH sshd processes on 127.0.0.x loopback addresses.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { createSshTransport } from '../../../src/transport/ssh.js';
import { renderCommand } from '../../../src/transport/template.js';
import type { SshTarget, Transport } from '../../../src/transport/types.js';
import { transportContract } from '../../contract/transport.contract.js';
import { bracketed, hashKnownHostsFile, knownHostsLine } from '../../support/ssh-keys.js';
import { startSshd } from '../../support/sshd.js';
import type { Sshd } from '../../support/sshd.js';
import { removeTempDirs, tempDir } from '../../support/tmp.js';

afterAll(removeTempDirs);

const NO_AGENT = { PATH: process.env.PATH };

function targetOf(sshd: Sshd, overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: 'app1',
    address: sshd.address,
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.clientKey.privatePath,
    knownHosts: knownHostsFile(sshd.knownHostsLine()),
    jumpHost: undefined,
    connectTimeoutSeconds: 5,
    acceptNewHostKeys: false,
    ...overrides,
  };
}

function knownHostsFile(text: string): string {
  const file = join(tempDir('rollout-kh-'), 'known_hosts');
  writeFileSync(file, text);
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const connectionsIn = (sshd: Sshd): number => (sshd.log().match(/Connection from /g) ?? []).length;

transportContract('ssh2 transport against OpenSSH sshd', async () => {
  const sshd = await startSshd({ address: '127.0.0.4' });
  return {
    transport: createSshTransport({ env: NO_AGENT }),
    target: () => targetOf(sshd),
    unreachable: () => targetOf(sshd, { host: 'gone1', port: 1 }),
    stop: () => sshd.stop(),
  };
});

// Why: generous limits; other suites may load the 2 cores heavily while sshd forks shells.
describe('ssh2 transport against OpenSSH sshd', { timeout: 120_000 }, () => {
  let sshd: Sshd;
  let bastion: Sshd;
  let transport: Transport;
  const run = (target: SshTarget, command = 'echo ok'): Promise<unknown> =>
    transport.exec(target, command, { timeoutMs: 60_000 });

  beforeAll(async () => {
    sshd = await startSshd({ address: '127.0.0.2' });
    bastion = await startSshd({
      address: '127.0.0.3',
      allowTcpForwarding: true,
      authorizedKeys: [sshd.clientKey.publicLine],
    });
    transport = createSshTransport({ env: NO_AGENT });
  });
  afterAll(async () => {
    await transport.close();
    await sshd.stop();
    await bastion.stop();
  });

  it('throws E_SSH_AUTH when sshd does not accept the key', async () => {
    const error = await rejection(run(targetOf(sshd, { identityFile: bastion.clientKey.privatePath })));
    expect(isRolloutError(error, 'E_SSH_AUTH')).toBe(true);
    expect(error).toMatchObject({ host: 'app1' });
    expect(error.message).toContain(bastion.clientKey.privatePath);
  });

  it('refuses an unknown host key, naming the fingerprint ssh-keygen -lf prints', async () => {
    const error = await rejection(run(targetOf(sshd, { knownHosts: knownHostsFile('') })));
    expect(isRolloutError(error, 'E_SSH_HOSTKEY')).toBe(true);
    expect(error).toMatchObject({ host: 'app1' });
    expect(error.message).toContain(`app1 (127.0.0.2:${sshd.port})`);
    expect(error.message).toContain(sshd.hostKeys.ed25519.fingerprint);
  });

  it('refuses a changed host key, naming the offered and the recorded fingerprints', async () => {
    const wrong = knownHostsLine([bracketed('app1', sshd.port)], bastion.hostKeys.ed25519.publicLine);
    const error = await rejection(run(targetOf(sshd, { knownHosts: knownHostsFile(wrong) })));
    expect(isRolloutError(error, 'E_SSH_HOSTKEY')).toBe(true);
    expect(error.message).toMatch(/CHANGED/);
    expect(error.message).toContain(sshd.hostKeys.ed25519.fingerprint);
    expect(error.message).toContain(bastion.hostKeys.ed25519.fingerprint);
  });

  it('refuses a key marked @revoked', async () => {
    const file = knownHostsFile(sshd.knownHostsLine() + `@revoked ${sshd.knownHostsLine(['*'])}`);
    const error = await rejection(run(targetOf(sshd, { knownHosts: file })));
    expect(isRolloutError(error, 'E_SSH_HOSTKEY')).toBe(true);
    expect(error.message).toMatch(/revoked/);
  });

  it('accepts an entry hashed by ssh-keygen -H', async () => {
    const file = knownHostsFile(sshd.knownHostsLine([bracketed('app1', sshd.port)]));
    hashKnownHostsFile(file);
    expect(readFileSync(file, 'utf8')).toMatch(/^\|1\|/);
    await expect(run(targetOf(sshd, { knownHosts: file }))).resolves.toMatchObject({ exitCode: 0, stdout: 'ok\n' });
  });

  it('accepts a [name]:port entry under the inventory name, among comma-separated names', async () => {
    const file = knownHostsFile(sshd.knownHostsLine(['other', bracketed('app1.test', sshd.port)]));
    await expect(run(targetOf(sshd, { host: 'app1.test', knownHosts: file }))).resolves.toMatchObject({ exitCode: 0 });
  });

  it.each(['ecdsa', 'rsa'] as const)('accepts a host known only by its %s key', async (type) => {
    const file = knownHostsFile(sshd.knownHostsLine(undefined, type));
    const fresh = createSshTransport({ env: NO_AGENT });
    await expect(
      fresh.exec(targetOf(sshd, { knownHosts: file }), 'echo ok', { timeoutMs: 60_000 }),
    ).resolves.toMatchObject({ exitCode: 0 });
    await fresh.close();
  });

  it('with acceptNewHostKeys, records an unknown key and then trusts it', async () => {
    const file = knownHostsFile('# managed by hand\n');
    await expect(
      run(targetOf(sshd, { host: 'new1', knownHosts: file, acceptNewHostKeys: true })),
    ).resolves.toMatchObject({ exitCode: 0 });
    expect(readFileSync(file, 'utf8')).toContain(`[new1]:${sshd.port},[127.0.0.2]:${sshd.port} ssh-ed25519 `);
    const fresh = createSshTransport({ env: NO_AGENT });
    await expect(
      fresh.exec(targetOf(sshd, { host: 'new1', knownHosts: file }), 'echo ok', { timeoutMs: 60_000 }),
    ).resolves.toMatchObject({ exitCode: 0 });
    await fresh.close();
  });

  it('with acceptNewHostKeys, still refuses a changed key and leaves known_hosts alone', async () => {
    const text = knownHostsLine([bracketed('app2', sshd.port)], bastion.hostKeys.ed25519.publicLine);
    const file = knownHostsFile(text);
    const error = await rejection(run(targetOf(sshd, { host: 'app2', knownHosts: file, acceptNewHostKeys: true })));
    expect(isRolloutError(error, 'E_SSH_HOSTKEY')).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('reuses one TCP connection for many execs', async () => {
    const fresh = createSshTransport({ env: NO_AGENT });
    const before = connectionsIn(sshd);
    const target = targetOf(sshd);
    for (let i = 0; i < 4; i += 1) await fresh.exec(target, 'true', { timeoutMs: 60_000 });
    await Promise.all(Array.from({ length: 12 }, () => fresh.exec(target, 'true', { timeoutMs: 60_000 })));
    await fresh.close();
    expect(connectionsIn(sshd) - before).toBe(1);
  });

  it('prints values holding shell syntax literally and runs none of it', async () => {
    const dir = tempDir('rollout-inject-');
    const marker = join(dir, 'x');
    const value = `a; touch ${marker} $(touch ${marker}) \`touch ${marker}\` 'single' "double" \\ && touch ${marker}`;
    const command = renderCommand('printf "%s\\n" {value}', { value });
    await expect(run(targetOf(sshd), command)).resolves.toMatchObject({ exitCode: 0, stdout: `${value}\n` });
    expect(existsSync(marker)).toBe(false);
  });

  it('closes the channel of a stopped command, so a command that writes stops', async () => {
    // Why: sshd ignores signal requests for root sessions (no privilege separation), so the closed channel must do.
    const marker = join(tempDir('rollout-stop-'), 'ticks');
    const command = `while echo tick; do echo x >> ${marker}; sleep 0.1; done`;
    const controller = new AbortController();
    const pending = rejection(
      transport.exec(targetOf(sshd), command, { timeoutMs: 60_000, signal: controller.signal }),
    );
    for (let i = 0; i < 600 && !existsSync(marker); i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(isRolloutError(await pending, 'E_INTERRUPTED')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const ticks = readFileSync(marker, 'utf8').length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(readFileSync(marker, 'utf8').length).toBe(ticks);
  });

  it('authenticates with a key held by ssh-agent when no identityFile is set', async () => {
    const agentDir = tempDir('rollout-agent-');
    const socket = join(agentDir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    try {
      for (let i = 0; i < 100 && !existsSync(socket); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
      execFileSync('ssh-add', ['-q', sshd.clientKey.privatePath], { env: { SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
      const viaAgent = createSshTransport({ env: { SSH_AUTH_SOCK: socket } });
      await expect(
        viaAgent.exec(targetOf(sshd, { identityFile: undefined }), 'echo agent', { timeoutMs: 60_000 }),
      ).resolves.toMatchObject({ exitCode: 0, stdout: 'agent\n' });
      await viaAgent.close();
    } finally {
      agent.kill('SIGTERM');
      await exited;
      rmSync(agentDir, { recursive: true, force: true });
    }
  });

  it('connects through a jump host, verifying both host keys', async () => {
    const file = knownHostsFile(sshd.knownHostsLine() + bastion.knownHostsLine());
    const before = (bastion.log().match(/Accepted publickey/g) ?? []).length;
    const target = targetOf(sshd, {
      host: 'behind1',
      knownHosts: file,
      jumpHost: `${bastion.user}@${bastion.address}:${bastion.port}`,
    });
    await expect(run(target, 'echo through')).resolves.toMatchObject({ exitCode: 0, stdout: 'through\n' });
    expect((bastion.log().match(/Accepted publickey/g) ?? []).length - before).toBe(1);
  });

  it('refuses a jump host whose key is unknown, naming the bastion', async () => {
    const file = knownHostsFile(sshd.knownHostsLine());
    const target = targetOf(sshd, {
      host: 'behind2',
      knownHosts: file,
      jumpHost: `${bastion.address}:${bastion.port}`,
    });
    const error = await rejection(run(target));
    expect(isRolloutError(error, 'E_SSH_HOSTKEY')).toBe(true);
    expect(error.message).toContain(`${bastion.address} (${bastion.address}:${bastion.port})`);
    expect(error.message).toContain(bastion.hostKeys.ed25519.fingerprint);
  });

  it('fails with E_SSH_CONNECT when the jump host may not forward', async () => {
    const file = knownHostsFile(sshd.knownHostsLine() + bastion.knownHostsLine());
    // Why: sshd (127.0.0.2) has AllowTcpForwarding no, so it cannot serve as a bastion.
    const target = targetOf(bastion, {
      host: 'behind3',
      knownHosts: file,
      identityFile: sshd.clientKey.privatePath,
      jumpHost: `${sshd.address}:${sshd.port}`,
    });
    const error = await rejection(run(target));
    expect(isRolloutError(error, 'E_SSH_CONNECT')).toBe(true);
    expect(error.message).toMatch(/AllowTcpForwarding/);
    expect(error.message).toContain('behind3');
  });
});
