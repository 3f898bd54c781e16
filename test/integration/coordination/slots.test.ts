import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createRestartSlots, listSlots, type SlotWait } from '../../../src/coordination/semaphore.js';
import { exited, useEtcdWithChildren } from '../../support/etcd-children.js';

const fixture = path.join(import.meta.dirname, 'fixtures', 'slot-holder.mjs');
const scope = 'dc-service/eqiad/php-fpm';
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });

const env = useEtcdWithChildren();

function holder(
  runId: string,
  hosts: string,
  ttl: number,
): { child: ChildProcess; held: Promise<{ held: boolean; key: string }> } {
  const child = spawn(process.execPath, [fixture, env.srcDir, env.etcd.endpoint, scope, String(ttl), runId, hosts], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  env.children.push(child);
  const lines = readline.createInterface({ input: child.stdout! });
  const held = new Promise<{ held: boolean; key: string }>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as { held: boolean; key: string }));
    child.once('exit', (code) => reject(new Error(`slot holder exited ${code} before reporting`)));
  });
  return { child, held };
}

describe('restart slots on a real etcd', () => {
  it('frees the slots of a SIGKILLed holder within its lease, and the run waiting on them goes', async () => {
    const { child, held } = holder('r-killed', 'mw1,mw2', 2);
    expect((await held).held).toBe(true);
    const lease = await env.kv.grantLease(10);
    const waits: SlotWait[] = [];
    const stop = new AbortController();
    const mine = createRestartSlots(env.kv, { lease, sleep }).acquire(
      {
        scope,
        holder: {
          runId: 'r-waiting',
          user: 'test',
          machine: 'here',
          pid: process.pid,
          dc: 'eqiad',
          cluster: 'api',
          hosts: ['mw9'],
          limit: 2,
          since: '',
        },
      },
      (w) => waits.push(w),
      stop.signal,
    );
    // It waits: the killed run's two hosts fill the limit of 2.
    for (let i = 0; i < 50 && waits.length === 0; i += 1) await sleep(100);
    expect(waits[0]).toMatchObject({ held: 2, limit: 2 });
    expect(waits[0]?.holders.map((h) => h.holder?.runId)).toEqual(['r-killed']);
    child.kill('SIGKILL');
    await exited(child);
    // Generous bound: the 2 s lease, plus etcd's expiry sweep; the waiter wakes on the delete event.
    const timeout = setTimeout(() => stop.abort(), 20_000);
    const grant = await mine;
    clearTimeout(timeout);
    expect((await listSlots(env.kv)).get(scope)?.map((e) => [e.holder?.runId, e.granted])).toEqual([
      ['r-waiting', true],
    ]);
    await grant.releaseAll();
    await lease.revoke();
    expect(await listSlots(env.kv)).toEqual(new Map());
  }, 60_000);

  it('serves two waiting requests in the order they asked, through watch events', async () => {
    const lease = await env.kv.grantLease(10);
    const slots = createRestartSlots(env.kv, { lease, sleep });
    const base = { user: 'test', machine: 'here', pid: process.pid, dc: 'eqiad', cluster: 'api', limit: 1, since: '' };
    const first = await slots.acquire(
      { scope, holder: { ...base, runId: 'r-1', hosts: ['a'] } },
      () => undefined,
      new AbortController().signal,
    );
    const order: string[] = [];
    const second = slots
      .acquire(
        { scope, holder: { ...base, runId: 'r-2', hosts: ['b'] } },
        () => undefined,
        new AbortController().signal,
      )
      .then((g) => (order.push('r-2'), g));
    await sleep(200);
    const third = slots
      .acquire(
        { scope, holder: { ...base, runId: 'r-3', hosts: ['c'] } },
        () => undefined,
        new AbortController().signal,
      )
      .then((g) => (order.push('r-3'), g));
    await sleep(200);
    expect(order).toEqual([]);
    await first.releaseAll();
    await (await second).releaseAll();
    await (await third).releaseAll();
    expect(order).toEqual(['r-2', 'r-3']);
    await lease.revoke();
  }, 60_000);
});
