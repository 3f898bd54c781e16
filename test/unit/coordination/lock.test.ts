import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { acquireLocks, listLocks, parseLockHolder } from '../../../src/coordination/lock.js';
import type { LockHolder } from '../../../src/coordination/lock.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';

const alice: LockHolder = {
  user: 'alice',
  machine: 'deploy1',
  pid: 4242,
  command: 'rollout sync',
  runId: 'r-1',
  startedAt: '2026-11-24T19:55:00.000Z',
  reason: '',
};
const bob: LockHolder = { ...alice, user: 'bob', pid: 77, runId: 'r-2' };
const eqiadApp = { dc: 'eqiad', cluster: 'appserver' };
const eqiadApi = { dc: 'eqiad', cluster: 'api_appserver' };

function fakeTime() {
  let t = 0;
  const slept: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (slept.push(ms), (t += ms)), slept };
}

describe('run locks', () => {
  it('takes one lease-bound lock per cluster holding the holder as JSON', async () => {
    const kv = createMemoryKv();
    const locks = await acquireLocks(kv, [eqiadApp, eqiadApi, eqiadApp], alice, fakeTime());
    expect(locks.keys).toEqual(['/rollout/v1/locks/eqiad/api_appserver', '/rollout/v1/locks/eqiad/appserver']);
    expect(await listLocks(kv)).toEqual([
      {
        dc: 'eqiad',
        cluster: 'api_appserver',
        key: '/rollout/v1/locks/eqiad/api_appserver',
        holder: alice,
        lease: locks.lease.id,
      },
      {
        dc: 'eqiad',
        cluster: 'appserver',
        key: '/rollout/v1/locks/eqiad/appserver',
        holder: alice,
        lease: locks.lease.id,
      },
    ]);
    expect(locks.lease.ttlSeconds).toBe(10);
  });

  it('refuses a held cluster with E_LOCKED naming the holder, and keeps none of the others', async () => {
    const kv = createMemoryKv();
    await acquireLocks(kv, [eqiadApp], alice, fakeTime());
    const error = await acquireLocks(kv, [eqiadApi, eqiadApp], bob, fakeTime()).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_LOCKED')).toBe(true);
    expect((error as Error).message).toBe(
      'appserver@eqiad is locked by alice@deploy1 pid 4242 (rollout sync, run r-1, since 2026-11-24T19:55:00.000Z): wait for it or use --wait-lock SECONDS',
    );
    expect((error as { key?: string }).key).toBe('/rollout/v1/locks/eqiad/appserver');
    expect((await listLocks(kv)).map((l) => [l.cluster, l.holder?.user])).toEqual([['appserver', 'alice']]);
    expect(kv.leases()).toHaveLength(1);
  });

  it('frees every lock on release', async () => {
    const kv = createMemoryKv();
    const locks = await acquireLocks(kv, [eqiadApp, eqiadApi], alice, fakeTime());
    await locks.release();
    expect(await listLocks(kv)).toEqual([]);
    await acquireLocks(kv, [eqiadApp], bob, fakeTime());
  });

  it('frees the locks when the holder stops keeping its lease alive, and tells it', async () => {
    const kv = createMemoryKv();
    const locks = await acquireLocks(kv, [eqiadApp], alice, fakeTime());
    const lost: Error[] = [];
    locks.onLost((e) => lost.push(e));
    kv.expire(locks.lease.id);
    expect(lost).toHaveLength(1);
    await acquireLocks(kv, [eqiadApp], bob, fakeTime());
  });

  it('waits for a held lock until it is released', async () => {
    const kv = createMemoryKv();
    const first = await acquireLocks(kv, [eqiadApp], alice, fakeTime());
    const time = fakeTime();
    let polls = 0;
    const sleep = async (ms: number): Promise<void> => {
      polls += 1;
      if (polls === 3) await first.release();
      await time.sleep(ms);
    };
    const second = await acquireLocks(kv, [eqiadApp], bob, { now: time.now, sleep, waitSeconds: 60, pollMs: 500 });
    expect(polls).toBe(3);
    expect((await listLocks(kv))[0]?.holder).toEqual(bob);
    await second.release();
  });

  it('gives up with E_LOCKED after waiting the given seconds', async () => {
    const kv = createMemoryKv();
    await acquireLocks(kv, [eqiadApp], alice, fakeTime());
    const time = fakeTime();
    const error = await acquireLocks(kv, [eqiadApp], bob, { ...time, waitSeconds: 3 }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('still held after waiting 3s');
    expect(time.slept.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(kv.leases()).toHaveLength(1);
  });

  it('reads a lock value written by something else as an unknown holder', async () => {
    const kv = createMemoryKv();
    await kv.put('/rollout/v1/locks/eqiad/appserver', 'not json');
    expect(parseLockHolder('{"user": 1}')).toBeNull();
    const error = await acquireLocks(kv, [eqiadApp], bob, fakeTime()).catch((e: unknown) => e);
    expect((error as Error).message).toContain('locked by an unknown holder');
  });

  it('passes an etcd outage through as E_ETCD_UNREACHABLE', async () => {
    const kv = createMemoryKv();
    kv.setDown(true);
    await expect(acquireLocks(kv, [eqiadApp], alice, fakeTime())).rejects.toMatchObject({ code: 'E_ETCD_UNREACHABLE' });
  });
});
