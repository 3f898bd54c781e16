import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processesMentioning, sandboxDown, sandboxStatus, sandboxUp } from '../../../scripts/lib/sandbox.mjs';
import { NETS } from '../../support/nets.js';

const NET = NETS.sandboxFailure;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function stateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-fail-'));
  cleanups.push(() => sandboxDown({ dir }).then(() => undefined));
  return dir;
}

/** A listener on address:port, closed after the test. */
async function listen(address: string, port: number): Promise<void> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

/** A socket bound to address:port that does not listen: a pre-check sees the port free, a bind fails. */
async function bindOnly(address: string, port: number): Promise<void> {
  const child: ChildProcess = spawn(
    'python3',
    [
      '-c',
      `import socket,sys
s = socket.socket(); s.bind((${JSON.stringify(address)}, ${port})); print("bound", flush=True); sys.stdin.read()`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`python3 bind helper exited ${code}`)));
  });
}

async function failedUp(dir: string): Promise<{ error: Error; messages: string[] }> {
  const messages: string[] = [];
  const error = await sandboxUp({
    dir,
    dcs: ['eqiad'],
    clusters: ['appserver'],
    hostsPerCluster: 3,
    net: NET,
    agents: false,
    install: false,
    log: (m) => messages.push(m),
  }).then(
    () => new Error('sandboxUp succeeded'),
    (e: unknown) => e as Error,
  );
  return { error, messages };
}

function expectNothingRunning(dir: string): void {
  expect(processesMentioning(dir)).toEqual([]);
  expect(sandboxStatus({ dir }).filter((c) => c.alive)).toEqual([]);
}

describe('a sandbox start that fails half-way', () => {
  it('stops every host it had started when one host cannot start (its nginx port is taken)', async () => {
    const dir = stateDir();
    await listen(`${NET}.12`, 8080);
    const { error, messages } = await failedUp(dir);
    expect(error.message).toMatch(/nginx of mw2\.eqiad\.sandbox: 127\.0\.70\.12:8080 is already in use/);
    // The other hosts and etcd were up, so there was something to stop.
    expect(messages.join('\n')).toMatch(/stopped the ([4-9]|\d\d+) processes this `up` had started/);
    expectNothingRunning(dir);
  }, 120_000);

  it('stops the whole fleet and etcd when HAProxy exits at start (its port bound by someone else)', async () => {
    const dir = stateDir();
    await bindOnly(`${NET}.2`, 8080);
    const { error, messages } = await failedUp(dir);
    expect(error.message).toMatch(/haproxy did not start: haproxy exited/);
    expect(messages.join('\n')).toMatch(/stopped the \d+ processes this `up` had started/);
    expectNothingRunning(dir);
  }, 120_000);
});

describe('two starts on one state dir', () => {
  it('refuses the second while the first runs, so no daemon is started twice', async () => {
    const dir = stateDir();
    const options = {
      dir,
      dcs: ['eqiad'],
      clusters: ['appserver'],
      hostsPerCluster: 1,
      net: NET,
      agents: false,
      install: false,
    };
    const [first, second] = await Promise.allSettled([sandboxUp(options), sandboxUp(options)]);
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' ? (second.reason as Error).message : 'second up succeeded').toMatch(
      /another `up` \(pid \d+\) is starting/,
    );
    expect(processesMentioning(`${dir}/etcd`)).toHaveLength(1);
  }, 120_000);
});
