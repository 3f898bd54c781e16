import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type {
  AgentAuthMethod,
  Client as SshClient,
  ConnectConfig,
  PublicKeyAuthMethod,
  ServerHostKeyAlgorithm,
} from 'ssh2';
import { RolloutError } from '../errors.js';
import { appendKnownHost, fingerprint, hostKeyName, keyBlobType, knownKeyTypes, verifyHostKey } from './known-hosts.js';
import type { KnownHosts } from './known-hosts.js';
import type { KnownHostsFiles } from './known-hosts-index.js';
import { IdentityError, type IdentityFiles } from './identity-files.js';

const { Client } = ssh2;

/** Environment variable that holds the private key's passphrase (never logged). */
export const PASSPHRASE_ENV = 'ROLLOUT_SSH_PASSPHRASE';

/** One SSH endpoint to open: a target, or a bastion on the way to one. @internal */
export interface ConnectParams {
  /** Name used in messages and looked up first in known_hosts. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly identityFile: string | undefined;
  readonly knownHosts: string;
  /** Where known_hosts files are read from: parsed once per transport, not once per connection. */
  readonly knownHostsFiles: KnownHostsFiles;
  /** Where private keys are read from, likewise. */
  readonly identityFiles: IdentityFiles;
  readonly acceptNewHostKeys: boolean;
  readonly connectTimeoutSeconds: number;
  readonly keepaliveSeconds: number;
  readonly env: NodeJS.ProcessEnv;
  /** An already-open stream to the server (through a jump host). */
  readonly sock?: Duplex;
  /** `via bastion:22`, appended to messages when connecting through a jump host. */
  readonly via?: string;
  /** Aborts a connect in progress (the transport is closing). */
  readonly signal?: AbortSignal;
}

const ALGORITHMS_BY_KEY_TYPE: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256'],
};
const DEFAULT_HOST_KEY_ALGORITHMS = Object.values(ALGORITHMS_BY_KEY_TYPE).flat();

/** `mw1 (10.0.0.1:22 via bastion:22)`: every message names the host and where it went. */
export function where(p: Pick<ConnectParams, 'host' | 'address' | 'port' | 'via'>): string {
  return `${p.host} (${p.address}:${p.port}${p.via === undefined ? '' : ` ${p.via}`})`;
}

/** Names to look a key up under: the inventory name, then the address (as OpenSSH's CheckHostIP). */
export function lookupNames(p: Pick<ConnectParams, 'host' | 'address' | 'port'>): string[] {
  const names = [hostKeyName(p.host, p.port), hostKeyName(p.address, p.port)];
  return [...new Set(names)];
}

/** Host key types already known come first, so a server with several keys shows the one on file. */
function hostKeyAlgorithms(entries: KnownHosts, names: readonly string[]): ServerHostKeyAlgorithm[] {
  const preferred = knownKeyTypes(entries, names).flatMap((t) => ALGORITHMS_BY_KEY_TYPE[t] ?? []);
  return [...new Set([...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS])];
}

/**
 * The key (read and decrypted once per transport), then the agent: ssh2's methods in its own
 * order, without its first `none` attempt, which costs every connection a round trip.
 */
async function authOptions(p: ConnectParams): Promise<Pick<ConnectConfig, 'authHandler'>> {
  const agent = p.env.SSH_AUTH_SOCK;
  const methods: (PublicKeyAuthMethod | AgentAuthMethod)[] = [];
  if (p.identityFile !== undefined) {
    const passphrase = p.env[PASSPHRASE_ENV];
    try {
      methods.push({
        type: 'publickey',
        username: p.user,
        key: await p.identityFiles.load(p.identityFile, passphrase),
      });
    } catch (cause) {
      if (cause instanceof IdentityError && cause.stage === 'parse') {
        const hint =
          passphrase === undefined
            ? `if it is encrypted, put its passphrase in ${PASSPHRASE_ENV}`
            : `check the passphrase in ${PASSPHRASE_ENV}`;
        throw new RolloutError(
          'E_SSH_AUTH',
          `${where(p)}: cannot use the private key ${p.identityFile}: ${cause.message}; ${hint}`,
          { host: p.host, cause },
        );
      }
      throw new RolloutError(
        'E_SSH_AUTH',
        `${where(p)}: cannot read the private key ${p.identityFile}: ${(cause as Error).message}; check ssh.identityFile`,
        { host: p.host, cause },
      );
    }
  }
  if (agent !== undefined && agent !== '') methods.push({ type: 'agent', username: p.user, agent });
  if (methods.length === 0) {
    throw new RolloutError(
      'E_SSH_AUTH',
      `${where(p)}: no SSH credentials: set ssh.identityFile or run an ssh-agent (SSH_AUTH_SOCK)`,
      { host: p.host },
    );
  }
  return { authHandler: methods };
}

function hostKeyError(p: ConnectParams, message: string): RolloutError {
  return new RolloutError('E_SSH_HOSTKEY', `${where(p)}: ${message}`, { host: p.host });
}

/** Checks the offered key; resolves to an error to refuse it, or undefined to accept. */
async function checkHostKey(p: ConnectParams, entries: KnownHosts, key: Buffer): Promise<RolloutError | undefined> {
  const names = lookupNames(p);
  const verdict = verifyHostKey(entries, names, key);
  const offered = `${keyBlobType(key) ?? 'unknown'} key ${fingerprint(key)}`;
  switch (verdict.status) {
    case 'known':
      return undefined;
    case 'revoked':
      return hostKeyError(
        p,
        `host key ${offered} is marked @revoked in ${p.knownHosts}:${verdict.entry.line}; refusing to connect`,
      );
    case 'changed': {
      const onFile = verdict.entries.map((e) => `${fingerprint(e.key)} (line ${e.line})`).join(', ');
      return hostKeyError(
        p,
        `HOST KEY CHANGED: the server offered ${offered}, but ${p.knownHosts} has ${onFile}; someone may be intercepting the connection. Verify the new key out of band, then replace the old entry`,
      );
    }
    case 'unknown': {
      const known = knownKeyTypes(entries, names);
      if (known.length > 0) {
        return hostKeyError(
          p,
          `the server offered ${offered}, but ${p.knownHosts} only has ${known.join(', ')} keys for ${names.join(' or ')}; verify the key and add it`,
        );
      }
      if (!p.acceptNewHostKeys) {
        return hostKeyError(
          p,
          `unknown host key ${offered}: ${names.join(' or ')} is not in ${p.knownHosts}; add the key from a trusted source (ssh-keyscan, checked against ${fingerprint(key)}) or set ssh.acceptNewHostKeys`,
        );
      }
      try {
        await appendKnownHost(p.knownHosts, names, key);
      } catch (cause) {
        return new RolloutError(
          'E_SSH_HOSTKEY',
          `${where(p)}: cannot record the new host key ${offered} in ${p.knownHosts}: ${(cause as Error).message}`,
          { host: p.host, cause },
        );
      }
      return undefined;
    }
  }
}

function classify(p: ConnectParams, error: Error & { level?: string }): RolloutError {
  const at = where(p);
  if (error.level === 'client-authentication') {
    return new RolloutError(
      'E_SSH_AUTH',
      `${at}: authentication as ${p.user} failed (${error.message}); check that the key${p.identityFile === undefined ? '' : ` ${p.identityFile}`} or the agent's keys are in the account's authorized_keys`,
      { host: p.host, cause: error },
    );
  }
  if (error.level === 'client-timeout') {
    return new RolloutError(
      'E_SSH_CONNECT',
      `${at}: no SSH handshake within ${p.connectTimeoutSeconds}s; check that the host is up and the port is right (ssh.connectTimeoutSeconds)`,
      { host: p.host, cause: error },
    );
  }
  return new RolloutError(
    'E_SSH_CONNECT',
    `${at}: cannot connect: ${error.message}; check that sshd runs there and the address and port are right`,
    { host: p.host, cause: error },
  );
}

/**
 * Opens one authenticated SSH connection with the host key verified against known_hosts.
 * Rejects with E_SSH_CONNECT, E_SSH_AUTH or E_SSH_HOSTKEY. @internal
 */
export async function openConnection(p: ConnectParams): Promise<SshClient> {
  const auth = await authOptions(p);
  let entries: KnownHosts;
  try {
    entries = await p.knownHostsFiles.load(p.knownHosts);
  } catch (cause) {
    throw new RolloutError(
      'E_SSH_HOSTKEY',
      `${where(p)}: cannot read known_hosts ${p.knownHosts}: ${(cause as Error).message}; check ssh.knownHosts`,
      { host: p.host, cause },
    );
  }
  const client = new Client();
  return new Promise<SshClient>((resolve, reject) => {
    let refused: RolloutError | undefined;
    let settled = false;
    const fail = (error: RolloutError): void => {
      if (settled) return;
      settled = true;
      p.signal?.removeEventListener('abort', onAbort);
      client.end();
      reject(error);
    };
    const onAbort = (): void => {
      fail(
        new RolloutError('E_SSH_CONNECT', `${where(p)}: the transport was closed while connecting`, { host: p.host }),
      );
      client.destroy();
    };
    if (p.signal?.aborted === true) {
      onAbort();
      return;
    }
    p.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      settled = true;
      p.signal?.removeEventListener('abort', onAbort);
      resolve(client);
    });
    client.on('error', (error: Error & { level?: string }) => fail(refused ?? classify(p, error)));
    client.once('close', () =>
      fail(
        refused ??
          new RolloutError(
            'E_SSH_CONNECT',
            `${where(p)}: the server closed the connection during the handshake; check sshd's log`,
            { host: p.host },
          ),
      ),
    );
    const config: ConnectConfig = {
      host: p.address,
      port: p.port,
      username: p.user,
      ...auth,
      readyTimeout: p.connectTimeoutSeconds * 1000,
      keepaliveInterval: p.keepaliveSeconds * 1000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithms(entries, lookupNames(p)) },
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        checkHostKey(p, entries, key).then(
          (problem) => {
            refused = problem;
            verify(problem === undefined);
          },
          (error: unknown) => {
            refused = hostKeyError(p, `cannot verify the host key: ${String(error)}`);
            verify(false);
          },
        );
      },
    };
    if (p.sock !== undefined) config.sock = p.sock;
    client.connect(config);
    // Why: each exec is a few small request/reply messages; Nagle plus delayed ACKs would add ~40ms to each.
    client.setNoDelay(true);
  });
}
