import { describe, expect, it } from 'vitest';
import { jumpLabel, parseJumpHost } from '../../../src/transport/jump.js';

describe('jump host specs', () => {
  it('reads user@host:port', () => {
    expect(parseJumpHost('ops@bastion.eqiad:2200', 'deploy', 'mw1')).toEqual({
      user: 'ops',
      host: 'bastion.eqiad',
      port: 2200,
    });
  });

  it('defaults the user to the target user and the port to 22', () => {
    expect(parseJumpHost('bastion', 'deploy', 'mw1')).toEqual({ user: 'deploy', host: 'bastion', port: 22 });
    expect(parseJumpHost('bastion:2200', 'deploy', 'mw1')).toEqual({ user: 'deploy', host: 'bastion', port: 2200 });
  });

  it('reads a bracketed IPv6 address', () => {
    expect(parseJumpHost('ops@[2001:db8::1]:22', 'deploy', 'mw1')).toEqual({
      user: 'ops',
      host: '2001:db8::1',
      port: 22,
    });
  });

  it('rejects a spec it cannot read, naming the host whose setting it is', () => {
    expect(() => parseJumpHost('ops@bastion:99999', 'deploy', 'mw1')).toThrow(/mw1: ssh.jumpHost "ops@bastion:99999"/);
    expect(() => parseJumpHost('a b', 'deploy', 'mw1')).toThrow(/E_USAGE|jumpHost/);
  });

  it('labels a jump host as user@host:port', () => {
    expect(jumpLabel({ user: 'ops', host: 'bastion', port: 22 })).toBe('ops@bastion:22');
  });
});
