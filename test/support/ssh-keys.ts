// Test keys come from ssh-keygen: ssh2's own ed25519 generator sometimes yields keys its parser rejects.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

export interface KeyPair {
  readonly privatePath: string;
  readonly publicPath: string;
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicLine: string;
  /** As `ssh-keygen -lf` prints it: `SHA256:…`. */
  readonly fingerprint: string;
}

export function keygen(path: string, type: KeyType, passphrase = ''): KeyPair {
  const bits = type === 'rsa' ? ['-b', '2048'] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', passphrase, '-C', `rollout-test-${type}`, '-f', path], {
    stdio: 'ignore',
  });
  const publicPath = `${path}.pub`;
  return {
    privatePath: path,
    publicPath,
    publicLine: readFileSync(publicPath, 'utf8').trim(),
    fingerprint: sshKeygenFingerprint(publicPath),
  };
}

/** The fingerprint field of `ssh-keygen -lf FILE`. */
export function sshKeygenFingerprint(publicPath: string): string {
  const line = execFileSync('ssh-keygen', ['-lf', publicPath], { encoding: 'utf8' });
  const match = /(SHA256:\S+)/.exec(line);
  if (match?.[1] === undefined) throw new Error(`unexpected ssh-keygen -lf output: ${line}`);
  return match[1];
}

/** A known_hosts line for names (`[host]:port` when the port is not 22) from a public key line. */
export function knownHostsLine(names: readonly string[], publicLine: string): string {
  const [type, blob] = publicLine.split(/\s+/);
  return `${names.join(',')} ${type ?? ''} ${blob ?? ''}\n`;
}

export function bracketed(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Hashes every name of a known_hosts file in place, as `ssh-keygen -H` does. */
export function hashKnownHostsFile(file: string): void {
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
}
