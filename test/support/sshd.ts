// A real OpenSSH sshd on a 127.0.0.x loopback address and a free high port, with its own host
// keys and config in a temp dir. Never touches the system sshd, /etc/ssh or ~/.ssh; stop() ends
// exactly the pid it started.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { keygen, knownHostsLine, bracketed } from './ssh-keys.js';
import type { KeyPair, KeyType } from './ssh-keys.js';
import { freePort } from '../../scripts/lib/sandbox.mjs';

export const SSHD = '/usr/sbin/sshd';

export interface SshdOptions {
  /** A 127.0.0.x address (default 127.0.0.2). */
  readonly address?: string;
  /** Needed on a bastion (jump host). */
  readonly allowTcpForwarding?: boolean;
  /** Public key lines accepted besides the generated client key. */
  readonly authorizedKeys?: readonly string[];
}

export interface Sshd {
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** The local account, which the server lets in with clientKey. */
  readonly user: string;
  readonly clientKey: KeyPair;
  readonly hostKeys: Readonly<Record<KeyType, KeyPair>>;
  /** A known_hosts line for these names with one of the host keys (default ed25519). */
  knownHostsLine(names?: readonly string[], type?: KeyType): string;
  /** sshd's own log (stderr, `-e`). */
  log(): string;
  stop(): Promise<void>;
}

function tcpOpen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function config(dir: string, address: string, port: number, forwarding: boolean): string {
  return `Port ${port}
ListenAddress ${address}
HostKey ${join(dir, 'ssh_host_ed25519_key')}
HostKey ${join(dir, 'ssh_host_ecdsa_key')}
HostKey ${join(dir, 'ssh_host_rsa_key')}
PidFile ${join(dir, 'sshd.pid')}
AuthorizedKeysFile ${join(dir, 'authorized_keys')}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
AllowTcpForwarding ${forwarding ? 'yes' : 'no'}
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
MaxStartups 200:30:400
MaxSessions 10
LogLevel VERBOSE
# Why: bash reads no ~/.bashrc for a command when SHLVL is set (root's here runs pyenv, 0.1-0.6 s a command).
SetEnv SHLVL=1
`;
}

async function startOnce(options: SshdOptions): Promise<Sshd> {
  const address = options.address ?? '127.0.0.2';
  const dir = mkdtempSync(join(tmpdir(), 'rollout-sshd-'));
  const hostKeys = {
    ed25519: keygen(join(dir, 'ssh_host_ed25519_key'), 'ed25519'),
    ecdsa: keygen(join(dir, 'ssh_host_ecdsa_key'), 'ecdsa'),
    rsa: keygen(join(dir, 'ssh_host_rsa_key'), 'rsa'),
  };
  const clientKey = keygen(join(dir, 'client_ed25519'), 'ed25519');
  writeFileSync(
    join(dir, 'authorized_keys'),
    [clientKey.publicLine, ...(options.authorizedKeys ?? [])].join('\n') + '\n',
  );
  const port = await freePort(address);
  writeFileSync(join(dir, 'sshd_config'), config(dir, address, port, options.allowTcpForwarding === true));
  // Why: sshd refuses to start without its privilege-separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!(await tcpOpen(address, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd on ${address}:${port} did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const pid = child.pid ?? -1;
  return {
    address,
    port,
    dir,
    pid,
    user: userInfo().username,
    clientKey,
    hostKeys,
    knownHostsLine: (names = [bracketed(address, port)], type = 'ed25519') =>
      knownHostsLine(names, hostKeys[type].publicLine),
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts sshd on a free port; retries when the port was taken between choosing and binding it. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
