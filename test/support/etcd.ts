import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTls, tlsHealthy } from './etcd-tls.js';
import type { TestTls } from './etcd-tls.js';
import { freePort } from '../../scripts/lib/sandbox.mjs';

/** A throwaway etcd on loopback, owned by the test that started it. */
export interface TestEtcd {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly pid: number;
  /** Cert files when started with `tls: true` (the endpoint is then https and client certs are required). */
  readonly tls: TestTls | undefined;
  /** SIGTERM, then SIGKILL after 5 s; removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Sends a signal to exactly this etcd (e.g. SIGSTOP to freeze it, SIGKILL to crash it). */
  kill(signal: NodeJS.Signals): void;
}

export interface StartEtcdOptions {
  /** A loopback address; 127.0.0.1 unless told. */
  readonly host?: string;
  /** Serve clients over TLS with a throwaway CA and require a client certificate. */
  readonly tls?: boolean;
  /** Also serve etcd's v2 keys API (`--enable-v2=true`), as conftool and PyBal use it. */
  readonly enableV2?: boolean;
}

const BINARY = '/usr/bin/etcd';

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function healthy(endpoint: string, tls: TestTls | undefined): Promise<boolean> {
  if (tls !== undefined) return tlsHealthy(endpoint, tls);
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return ((await response.json()) as { health?: string }).health === 'true';
  } catch {
    return false; // not listening yet
  }
}

async function waitHealthy(
  child: ChildProcess,
  endpoint: string,
  logFile: string,
  tls: TestTls | undefined,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `etcd exited (${child.exitCode ?? child.signalCode}) before it was ready; log: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`,
      );
    }
    if (await healthy(endpoint, tls)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${endpoint} not healthy after 20s; log: ${logFile}`);
}

async function startOnce(host: string, withTls: boolean, enableV2: boolean): Promise<TestEtcd> {
  const [clientPort, peerPort] = [await freePort(host), await freePort(host)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-etcd-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'etcd.log');
  let tls: TestTls | undefined;
  try {
    tls = withTls ? makeTls(path.join(dir, 'tls'), host) : undefined;
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `${tls === undefined ? 'http' : 'https'}://${host}:${clientPort}`;
  const tlsArgs =
    tls === undefined
      ? []
      : ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth'];
  const peer = `http://${host}:${peerPort}`;
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    BINARY,
    [
      '--name',
      'test',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `test=${peer}`,
      '--initial-cluster-state',
      'new',
      ...tlsArgs,
      ...(enableV2 ? ['--enable-v2=true'] : []),
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const pid = child.pid;
  // Why: a test worker that dies without its afterAll must not leave etcd running.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
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
    await waitHealthy(child, endpoint, logFile, tls);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, dataDir, pid, tls, stop, kill: (signal) => void child.kill(signal) };
}

/** Starts etcd on free loopback ports with a temp data dir; retries when another test took a port first. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<TestEtcd> {
  const host = options.host ?? '127.0.0.1';
  if (!host.startsWith('127.')) throw new Error(`test etcd only runs on loopback, not ${host}`);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(host, options.tls ?? false, options.enableV2 ?? false);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
