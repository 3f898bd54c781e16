import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/lib/sandbox.mjs';

/** A throwaway HAProxy (master-worker, foreground) with an admin runtime socket, owned by the test. */
export interface TestHaproxy {
  readonly socket: string;
  /** The frontend, `http://127.0.0.1:<port>`; routes to the first backend. */
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  /** SIGTERM to exactly this master (SIGKILL after 5 s); removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartHaproxyOptions {
  /** Backend name → servers (name and loopback `host:port`), in order; the first backend is the default. */
  readonly backends: Readonly<Record<string, readonly { readonly name: string; readonly address: string }[]>>;
}

const BINARY = '/usr/sbin/haproxy';

function config(socket: string, port: number, backends: StartHaproxyOptions['backends']): string {
  const names = Object.keys(backends);
  for (const server of Object.values(backends).flat()) {
    if (!server.address.startsWith('127.'))
      throw new Error(`test HAProxy only talks to loopback, not ${server.address}`);
  }
  return `global
  stats socket ${socket} mode 600 level admin
  stats timeout 30s
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend test
  bind 127.0.0.1:${port}
  default_backend ${names[0] ?? 'none'}
${names
  .map(
    (name) => `backend ${name}
  balance roundrobin
${(backends[name] ?? []).map((s) => `  server ${s.name} ${s.address} weight 10`).join('\n')}
`,
  )
  .join('')}`;
}

function ask(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const client = net.createConnection({ path: socket }, () => client.end(`${command}\n`));
    client.on('data', (c: Buffer) => chunks.push(c));
    client.on('close', () => resolve(Buffer.concat(chunks).toString()));
    client.on('error', reject);
  });
}

export async function startHaproxy(options: StartHaproxyOptions): Promise<TestHaproxy> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-haproxy-'));
  const socket = path.join(dir, 'haproxy.sock');
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, config(socket, port, options.backends));
  const logFile = path.join(dir, 'haproxy.log');
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(BINARY, ['-W', '-db', '-f', cfg], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  if (child.pid === undefined) {
    await stop();
    throw new Error(`could not start ${BINARY}`);
  }
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = fs.readFileSync(logFile, 'utf8');
      await stop();
      throw new Error(`haproxy exited (${child.exitCode}): ${text.slice(-2000)}`);
    }
    try {
      if ((await ask(socket, 'show servers state')).startsWith('1\n')) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy runtime socket ${socket} not ready after 15s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { socket, url: `http://127.0.0.1:${port}`, pid: child.pid, dir, stop };
}
