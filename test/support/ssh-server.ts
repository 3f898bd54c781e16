// An in-process ssh2 Server on 127.0.0.1 for transport tests: real SSH protocol, no sshd.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Connection, Server as SshServer, ServerChannel } from 'ssh2';
import { keygen, knownHostsLine, bracketed } from './ssh-keys.js';
import type { KeyPair } from './ssh-keys.js';

const { Server, utils } = ssh2;

/** A scripted answer: what the server prints and exits with for an exact command. */
export interface ScriptedReply {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
}

export interface SshServerOptions {
  /** `shell` runs commands with `sh -c`; a map answers exact commands (others exit 127). */
  readonly commands?: 'shell' | Readonly<Record<string, ScriptedReply>>;
  /** Public key files accepted besides the generated client key. */
  readonly authorizedKeyFiles?: readonly string[];
  /** Refuse this many session opens first (as sshd does while MaxSessions is full); Infinity: all. */
  readonly refuseSessions?: number;
}

export interface TestSshServer {
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  readonly user: string;
  readonly hostKey: KeyPair;
  /** A client key the server accepts. */
  readonly clientKey: KeyPair;
  /** known_hosts holding the server's key under `[127.0.0.1]:port`. */
  readonly knownHosts: string;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Connections open now. */
  openConnections(): number;
  /** Exec requests served so far. */
  execs(): number;
  /** Session opens refused so far (refuseSessions). */
  refusedSessions(): number;
  /** The most commands that ran at the same time (shell mode). */
  maxRunning(): number;
  /** Ends every open client connection (to test reconnects). */
  dropConnections(): void;
  stop(): Promise<void>;
}

interface ServerState {
  execs: number;
  refused: number;
  maxRunning: number;
  readonly children: Set<ChildProcess>;
}

function runShell(command: string, stream: ServerChannel, state: ServerState): ChildProcess {
  const { children } = state;
  const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  state.maxRunning = Math.max(state.maxRunning, children.size);
  child.stdout.on('data', (chunk: Buffer) => stream.write(chunk));
  child.stderr.on('data', (chunk: Buffer) => stream.stderr.write(chunk));
  child.on('close', (code, signal) => {
    children.delete(child);
    if (signal !== null) stream.exit(signal.replace(/^SIG/, ''), false, '');
    else stream.exit(code ?? 0);
    stream.end();
  });
  return child;
}

type PublicKey = Exclude<ReturnType<typeof utils.parseKey>, Error>;

function handleClient(
  client: Connection,
  user: string,
  allowed: readonly PublicKey[],
  options: SshServerOptions,
  state: ServerState,
): void {
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey' || ctx.username !== user) return ctx.reject(['publickey']);
    const { key } = ctx;
    const match = allowed.find((k) => k.type === key.algo && key.data.equals(k.getPublicSSH()));
    if (match === undefined) return ctx.reject(['publickey']);
    if (ctx.signature !== undefined && ctx.blob !== undefined && !match.verify(ctx.blob, ctx.signature, ctx.hashAlgo))
      return ctx.reject(['publickey']);
    return ctx.accept();
  });
  client.on('ready', () => {
    client.on('session', (acceptSession, rejectSession) => {
      if (state.refused < (options.refuseSessions ?? 0)) {
        state.refused += 1;
        rejectSession();
        return;
      }
      const session = acceptSession();
      let child: ChildProcess | undefined;
      session.on('signal', (_accept, _reject, info) => child?.kill(`SIG${info.name}` as NodeJS.Signals));
      session.on('exec', (accept, _reject, info) => {
        state.execs += 1;
        const stream = accept();
        const commands = options.commands ?? 'shell';
        if (commands === 'shell') {
          child = runShell(info.command, stream, state);
          return;
        }
        const reply = commands[info.command];
        if (reply === undefined) {
          stream.stderr.write(`sh: ${info.command}: not found\n`);
          stream.exit(127);
        } else {
          if (reply.stdout !== undefined) stream.write(reply.stdout);
          if (reply.stderr !== undefined) stream.stderr.write(reply.stderr);
          stream.exit(reply.exitCode ?? 0);
        }
        stream.end();
      });
    });
  });
  client.on('error', () => undefined);
}

export async function startSshServer(options: SshServerOptions = {}): Promise<TestSshServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-ssh2-server-'));
  const hostKey = keygen(join(dir, 'host_ed25519'), 'ed25519');
  const clientKey = keygen(join(dir, 'client_ed25519'), 'ed25519');
  const allowed = [clientKey.publicPath, ...(options.authorizedKeyFiles ?? [])].map((file) => {
    const parsed = utils.parseKey(readFileSync(file));
    if (parsed instanceof Error) throw parsed;
    return parsed;
  });
  const user = 'deploy';
  const state: ServerState = { execs: 0, refused: 0, maxRunning: 0, children: new Set<ChildProcess>() };
  let connections = 0;
  const open = new Set<Connection>();
  const server: SshServer = new Server({ hostKeys: [readFileSync(hostKey.privatePath)] }, (client) => {
    connections += 1;
    open.add(client);
    client.on('close', () => open.delete(client));
    handleClient(client, user, allowed, options, state);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, knownHostsLine([bracketed('127.0.0.1', port)], hostKey.publicLine));
  return {
    address: '127.0.0.1',
    port,
    dir,
    user,
    hostKey,
    clientKey,
    knownHosts,
    connections: () => connections,
    openConnections: () => open.size,
    execs: () => state.execs,
    refusedSessions: () => state.refused,
    maxRunning: () => state.maxRunning,
    dropConnections: () => open.forEach((c) => c.end()),
    async stop() {
      for (const child of state.children) child.kill('SIGKILL');
      open.forEach((c) => c.end());
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
