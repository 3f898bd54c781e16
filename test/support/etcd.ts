import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A throwaway etcd on loopback, owned by the test that started it. */
export interface TestEtcd {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Sends a signal to exactly this etcd (e.g. SIGSTOP to freeze it, SIGKILL to crash it). */
  kill(signal: NodeJS.Signals): void;
}

export interface StartEtcdOptions {
  /** A loopback address; 127.0.0.1 unless told. */
  readonly host?: string;
}

const BINARY = '/usr/bin/etcd';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function waitHealthy(child: ChildProcess, endpoint: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before it was ready; log: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    try {
      const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await response.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${endpoint} not healthy after 20s; log: ${logFile}`);
}

async function startOnce(host: string): Promise<TestEtcd> {
  const [clientPort, peerPort] = [await freePort(host), await freePort(host)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-etcd-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'etcd.log');
  const endpoint = `http://${host}:${clientPort}`;
  const peer = `http://${host}:${peerPort}`;
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    BINARY,
    [
      '--name', 'test', '--data-dir', dataDir,
      '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `test=${peer}`, '--initial-cluster-state', 'new',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const pid = child.pid;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited(child);
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  if (pid === undefined) {
    await stop();
    throw new Error(`could not start ${BINARY}`);
  }
  try {
    await waitHealthy(child, endpoint, logFile);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, dataDir, pid, stop, kill: (signal) => void child.kill(signal) };
}

/** Starts etcd on free loopback ports with a temp data dir; retries when another test took a port first. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<TestEtcd> {
  const host = options.host ?? '127.0.0.1';
  if (!host.startsWith('127.')) throw new Error(`test etcd only runs on loopback, not ${host}`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(host);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
