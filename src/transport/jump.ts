import type { Duplex } from 'node:stream';
import type { Client as SshClient } from 'ssh2';
import { RolloutError } from '../errors.js';

/** A parsed `ssh.jumpHost`: where the bastion is and as whom to log in. */
export interface JumpHost {
  readonly user: string;
  readonly host: string;
  readonly port: number;
}

const SPEC = /^(?:([^@\s]+)@)?(\[[^\]\s]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/;

/**
 * Parses `user@host:port`, `user@host`, `host:port` or `host` (IPv6 as `[::1]:22`), like
 * OpenSSH's ProxyJump with one hop. The user defaults to the target's, the port to 22.
 */
export function parseJumpHost(spec: string, defaultUser: string, owner: string): JumpHost {
  const match = SPEC.exec(spec.trim());
  const port = match?.[3] === undefined ? 22 : Number(match[3]);
  if (match === null || match[2] === undefined || port < 1 || port > 65535) {
    throw new RolloutError(
      'E_USAGE',
      `${owner}: ssh.jumpHost "${spec}" is not "user@host:port", "host:port" or "host"`,
      { host: owner },
    );
  }
  const host = match[2].startsWith('[') ? match[2].slice(1, -1) : match[2];
  return { user: match[1] ?? defaultUser, host, port };
}

/** `user@host:port`: the cache key part and the text of `via …` in messages. */
export function jumpLabel(jump: JumpHost): string {
  return `${jump.user}@${jump.host}:${jump.port}`;
}

/** Opens a direct-tcpip channel through the bastion (what ProxyJump does), to carry the target's SSH. */
export function forwardThrough(bastion: SshClient, address: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    bastion.forwardOut('127.0.0.1', 0, address, port, (error, stream) => (error ? reject(error) : resolve(stream)));
  });
}
