import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { listRuns } from '../../../src/coordination/journal.js';
import type { Kv } from '../../../src/kv/kv.js';
import { acquireLocks, listLocks } from '../../../src/coordination/lock.js';
import { compileSrc } from '../../support/compile-src.js';
import { startEtcd } from '../../support/etcd.js';
import type { TestEtcd } from '../../support/etcd.js';
import { etcdSettings } from '../../support/etcd-settings.js';

const fixture = path.join(import.meta.dirname, 'fixtures', 'lock-holder.mjs');
const me = {
  user: 'test',
  machine: 'here',
  pid: process.pid,
  command: 'rollout restart',
  runId: 'r-test',
  startedAt: new Date(0).toISOString(),
  reason: '',
};
const time = { now: Date.now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

interface ChildResult {
  locked: boolean;
  pid?: number;
  code?: string;
  message?: string;
}

let etcd: TestEtcd;
let srcDir: string;
let kv: Kv;
const children: ChildProcess[] = [];

/** Starts a lock holder process and resolves with the line it prints once it holds the lock or failed. */
function holder(cluster: string, runId: string, ttl = 2): { child: ChildProcess; result: Promise<ChildResult> } {
  const child = spawn(process.execPath, [fixture, srcDir, etcd.endpoint, 'eqiad', cluster, String(ttl), runId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = readline.createInterface({ input: child.stdout! });
  const result = new Promise<ChildResult>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as ChildResult));
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code} before reporting`)));
  });
  return { child, result };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
}

beforeAll(async () => {
  etcd = await startEtcd();
  srcDir = compileSrc();
  kv = await connectEtcd(etcdSettings(etcd.endpoint));
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill('SIGKILL');
    await exited(child);
  }
});
afterAll(async () => {
  // Why: a beforeAll that failed half-way must still stop the etcd it started.
  await kv?.close();
  await etcd?.stop();
  if (srcDir) fs.rmSync(srcDir, { recursive: true, force: true });
});

describe('cluster locks across processes on a real etcd', () => {
  it('refuses a second process and this one while a first process holds the lock', async () => {
    const first = await holder('appserver', 'r-first').result;
    expect(first.locked).toBe(true);
    const second = await holder('appserver', 'r-second').result;
    expect(second).toMatchObject({ locked: false, code: 'E_LOCKED' });
    expect(second.message).toContain(`appserver@eqiad is locked by child@`);
    expect(second.message).toContain(`pid ${first.pid} (rollout sync, run r-first`);
    const error = await acquireLocks(kv, [{ dc: 'eqiad', cluster: 'appserver' }], me, time).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_LOCKED')).toBe(true);
  });

  it('lets exactly one of two processes racing for the same lock win', async () => {
    const results = await Promise.all([holder('racy', 'r-a').result, holder('racy', 'r-b').result]);
    expect(results.filter((r) => r.locked)).toHaveLength(1);
    expect(results.filter((r) => r.code === 'E_LOCKED')).toHaveLength(1);
  });

  it('frees the lock after its holder is SIGKILLed, while its journal remains and reads as dead', async () => {
    const { child, result } = holder('killed', 'r-killed', 2);
    expect((await result).locked).toBe(true);
    expect((await listRuns(kv)).find((r) => r.runId === 'r-killed')).toMatchObject({ locked: true, dead: false });
    child.kill('SIGKILL');
    await exited(child);
    let locks = await listLocks(kv);
    for (let i = 0; i < 100 && locks.some((l) => l.cluster === 'killed'); i += 1) {
      await time.sleep(200);
      locks = await listLocks(kv);
    }
    expect(locks.some((l) => l.cluster === 'killed')).toBe(false);
    const run = (await listRuns(kv)).find((r) => r.runId === 'r-killed');
    expect(run).toMatchObject({ locked: false, dead: true, meta: { runId: 'r-killed' } });
    expect(run?.hosts.map((h) => h.key.host)).toEqual(['mw1001']);
    const mine = await acquireLocks(kv, [{ dc: 'eqiad', cluster: 'killed' }], me, time);
    await mine.release();
  }, 30_000);

  it('waits for a lock held by another process until that process is killed', async () => {
    const { child, result } = holder('waited', 'r-waited', 2);
    expect((await result).locked).toBe(true);
    const waiting = acquireLocks(kv, [{ dc: 'eqiad', cluster: 'waited' }], me, {
      ...time,
      waitSeconds: 20,
      pollMs: 200,
    });
    child.kill('SIGKILL');
    const mine = await waiting;
    expect((await listLocks(kv)).find((l) => l.cluster === 'waited')?.holder?.runId).toBe('r-test');
    await mine.release();
  }, 30_000);
});
