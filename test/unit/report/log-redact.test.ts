import { describe, expect, it } from 'vitest';
import { CENSOR, redactSecrets } from '../../../src/log-redact.js';

describe('redactSecrets', () => {
  it('censors a secret key at the top, one and two levels down, and in arrays', () => {
    const line = {
      password: 'p0',
      ssh: { passphrase: 'p1', user: 'root' },
      etcd: { auth: { etcdPassword: 'p2' }, endpoints: ['a'] },
      hosts: [{ privateKey: 'p3' }, { name: 'mw1' }],
    };
    const out = redactSecrets(line);
    expect(JSON.stringify(out)).not.toMatch(/p[0-3]"/);
    expect(out).toMatchObject({
      password: CENSOR,
      ssh: { passphrase: CENSOR, user: 'root' },
      etcd: { auth: { etcdPassword: CENSOR }, endpoints: ['a'] },
      hosts: [{ privateKey: CENSOR }, { name: 'mw1' }],
    });
  });

  it('never changes what it was given: a line with a secret is copied along its path only', () => {
    const ssh = { passphrase: 'p1' };
    const other = { user: 'root' };
    const line = { ssh, other };
    const out = redactSecrets(line);
    expect(ssh.passphrase).toBe('p1');
    expect(out).not.toBe(line);
    expect(out.other).toBe(other);
  });

  it('gives back the same object when there is nothing to censor (no copy for an event)', () => {
    const line = { event: 'host.restarted', host: 'mw1', nested: { a: { b: 1 } }, list: [1, 'x', null] };
    expect(redactSecrets(line)).toBe(line);
  });
});
