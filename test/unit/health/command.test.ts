import { describe, expect, it } from 'vitest';
import { RolloutError, isRolloutError } from '../../../src/errors.js';
import { createCommandProbe } from '../../../src/health/command.js';
import { sshTargetFor } from '../../../src/health/ssh-target.js';
import { fakeTransport } from './fake-transport.js';
import { testHost } from './fixtures.js';

const host = testHost({ health: { type: 'command', command: 'check-app --host {host} --release {release}' } });

describe('createCommandProbe', () => {
  it('runs the rendered, quoted command on the host over SSH and passes on exit 0', async () => {
    const transport = fakeTransport(() => ({ stdout: 'ok\n' }));
    const result = await createCommandProbe(transport).check(
      testHost({ health: { type: 'command', command: 'systemctl is-active {service}' } }),
      { release: undefined },
    );
    expect(result).toEqual({ ok: true, detail: 'exit 0' });
    expect(transport.calls).toHaveLength(1);
    expect(transport.calls[0]?.command).toBe('systemctl is-active php-fpm');
    expect(transport.calls[0]?.target).toEqual(sshTargetFor(host));
    expect(transport.calls[0]?.options.timeoutMs).toBe(2000);
  });

  it('fails on a non-zero exit, quoting the command and its last stderr line', async () => {
    const transport = fakeTransport(() => ({ exitCode: 3, stderr: 'warming up\nphp-fpm inactive\n' }));
    const result = await createCommandProbe(transport).check(host, { release: 'r 1' });
    expect(result).toEqual({
      ok: false,
      detail: "`check-app --host mw1.eqiad --release 'r 1'` exited 3: php-fpm inactive",
    });
  });

  it('requires the release id in stdout when a release is expected', async () => {
    const transport = fakeTransport(() => ({ stdout: 'serving r1\n' }));
    const probe = createCommandProbe(transport);
    expect(await probe.check(host, { release: 'r1' })).toEqual({ ok: true, detail: 'exit 0, release r1' });
    expect(await probe.check(host, { release: 'r2' })).toEqual({
      ok: false,
      detail: '`check-app --host mw1.eqiad --release r2` does not print release r2 (last line: serving r1)',
    });
  });

  it('reports a connection error as a failed check, not an exception', async () => {
    const transport = fakeTransport(
      () =>
        new RolloutError('E_SSH_CONNECT', 'mw1.eqiad: cannot connect to 127.0.0.1:2201: connection refused', {
          host: 'mw1.eqiad',
        }),
    );
    expect(await createCommandProbe(transport).check(host, { release: 'r1' })).toEqual({
      ok: false,
      detail: 'mw1.eqiad: cannot connect to 127.0.0.1:2201: connection refused',
    });
  });

  it('throws E_USAGE when health.command is missing', async () => {
    const error: unknown = await createCommandProbe(fakeTransport(() => ({})))
      .check(testHost({ health: { type: 'command' } }), { release: undefined })
      .catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_USAGE')).toBe(true);
  });
});

describe('sshTargetFor', () => {
  it('builds the SSH target from the host address and its ssh settings', () => {
    expect(sshTargetFor(testHost({ name: 'mw9.eqiad', address: '10.0.0.9' }))).toEqual({
      host: 'mw9.eqiad',
      address: '10.0.0.9',
      port: 2201,
      user: 'root',
      identityFile: '/keys/id',
      knownHosts: '/keys/known_hosts',
      jumpHost: undefined,
      connectTimeoutSeconds: 5,
      acceptNewHostKeys: false,
    });
  });
});
