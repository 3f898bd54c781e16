import { describe, expect, it } from 'vitest';
import { txnConflictError, unreachableError } from '../../../src/kv/kv-errors.js';
import { poolKeyPath } from '../../../src/pool/store.js';
import { acquireLocks } from '../../../src/coordination/lock.js';
import type { Fence } from '../../../src/kv/fence.js';
import type { GuardedRead, PoolKey } from '../../../src/pool/types.js';
import { fleet } from '../../support/fleet.js';
import { harness, PREFIX, type Harness } from './harness.js';

async function pooledCount(h: Harness): Promise<number> {
  let n = 0;
  const hosts = h.inventory.datacenters.flatMap((d) => d.clusters.flatMap((c) => c.hosts.map((x) => x.name)));
  for (const host of hosts) if ((await h.value(host))?.['pooled'] === 'yes') n += 1;
  return n;
}

/** Runs `after` once, right after the guard's first read returns: a writer acting in the gap. */
function afterFirstGuardedRead(h: Harness, after: () => Promise<void>): { reads: () => number } {
  const original = h.pool.readGuarded.bind(h.pool);
  let reads = 0;
  Object.assign(h.pool, {
    async readGuarded(keys: readonly PoolKey[]): Promise<GuardedRead> {
      const read = await original(keys);
      reads += 1;
      if (reads === 1) await after();
      return read;
    },
  });
  return { reads: () => reads };
}

describe('the capacity guard and the depool are one transaction', () => {
  it('aborts the depool when someone depools another host of the cluster after the guard read, and guards again', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 1, minPooled: 3 }).build());
    const gap = afterFirstGuardedRead(h, async () => {
      const key = poolKeyPath(PREFIX, h.keyOf('mw1004'));
      const entry = await h.kv.get(key);
      await h.kv.put(key, JSON.stringify({ pooled: 'no', weight: 10 }), { expectModRevision: entry?.modRevision ?? 0 });
    });
    const result = await h.run({ capacityWaitSeconds: 4 });
    expect(gap.reads()).toBeGreaterThan(1);
    expect(h.names('host.depooled')).toEqual([]);
    expect(result.exitCode).toBe(4);
    expect(await pooledCount(h)).toBe(3);
  });

  it('depools on the fresh read after a change in the gap, and leaves alone a host pooled in the gap', async () => {
    const h = await harness(
      fleet()
        .cluster('appserver', 4, { states: ['yes', 'yes', 'yes', 'no'], batch: 4, minPooled: 0 })
        .build(),
    );
    afterFirstGuardedRead(h, async () => {
      const key = poolKeyPath(PREFIX, h.keyOf('mw1004'));
      const entry = await h.kv.get(key);
      await h.kv.put(key, JSON.stringify({ pooled: 'yes', weight: 10 }), {
        expectModRevision: entry?.modRevision ?? 0,
      });
    });
    const result = await h.run({ batchMode: 'barrier' });
    // mw1004, pooled in the gap, is not restarted in place: that would cut its requests.
    expect(result.hosts.find((x) => x.host === 'mw1004')).toMatchObject({ outcome: 'failed', code: 'E_POOL_CONFLICT' });
    expect(h.names('host.depooled').sort()).toEqual(['mw1001', 'mw1002', 'mw1003']);
    expect(await pooledCount(h)).toBe(4);
  });

  it('runs every SSH pre-check of a batch before the read the guard decides on', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2, minPooled: 1 }).build());
    const order: string[] = [];
    h.exec = (host, command) => void (command === 'true' && order.push(`check ${host}`));
    const original = h.pool.readGuarded.bind(h.pool);
    Object.assign(h.pool, {
      readGuarded: async (keys: readonly PoolKey[]) => {
        order.push('guard read');
        return original(keys);
      },
    });
    await h.run({ batchMode: 'barrier' });
    expect(order.slice(0, 3)).toEqual(['check mw1001', 'check mw1002', 'guard read']);
    expect(order.slice(3, 6)).toEqual(['check mw1003', 'check mw1004', 'guard read']);
  });

  it('depools nothing when Ctrl-C comes during the pre-check', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2, minPooled: 1 }).build());
    const stop = new AbortController();
    h.exec = (_host, command) => void (command === 'true' && stop.abort('SIGINT'));
    const result = await h.run({ stop: stop.signal });
    expect(result.exitCode).toBe(130);
    expect(h.names('host.depooled')).toEqual([]);
    expect(h.execs).toEqual([]);
    expect(await pooledCount(h)).toBe(4);
  });
});

describe('a depool whose answer is lost', () => {
  it('is found committed (its marker is there), carried on and repooled', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, minPooled: 1 }).build());
    const txn = h.kv.txn.bind(h.kv);
    let lost = 0;
    Object.assign(h.kv, {
      txn: async (...args: Parameters<typeof txn>) => {
        const revision = await txn(...args);
        // Why: the batch's depool is the transaction that carries its commit marker.
        if (args[1].some((put) => put.key.includes('/batches/')) && lost++ === 0)
          throw unreachableError('memory://kv', new Error('deadline exceeded after commit'));
        return revision;
      },
    });
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.names('host.depooled')).toEqual(['mw1001', 'mw1002']);
    expect(h.names('host.repooled')).toEqual(['mw1001', 'mw1002']);
    expect(await pooledCount(h)).toBe(2);
  });

  it('is found not committed: the host fails at the depool, untouched and not restarted', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 2, minPooled: 0 }).build());
    Object.assign(h.kv, {
      txn: async () => {
        throw unreachableError('memory://kv', new Error('deadline exceeded'));
      },
    });
    const result = await h.run();
    expect(result.hosts.map((x) => [x.host, x.outcome, x.step, x.leftDepooled])).toEqual([
      ['mw1001', 'failed', 'depool', false],
      ['mw1002', 'failed', 'depool', false],
    ]);
    expect(h.execs).toEqual([]);
    expect(await pooledCount(h)).toBe(2);
  });
});

describe('a repool whose answer is lost', () => {
  it('is read back: holding exactly the repooled value at a later revision, it landed', async () => {
    const h = await harness(fleet().cluster('appserver', 1, { batch: 1, minPooled: 0 }).build());
    const put = h.kv.put.bind(h.kv);
    Object.assign(h.kv, {
      put: async (...args: Parameters<typeof put>) => {
        const revision = await put(...args);
        if (args[1].includes('"pooled":"yes"'))
          throw unreachableError('memory://kv', new Error('deadline exceeded after commit'));
        return revision;
      },
    });
    const result = await h.run();
    expect(result.hosts[0]).toMatchObject({ outcome: 'done', leftDepooled: false });
    expect(h.names('host.repooled')).toEqual(['mw1001']);
    expect(h.names('host.repool-skipped')).toEqual([]);
  });
});

describe('a depool refused while etcd elects a leader', () => {
  it('wrote nothing (no marker), so it is guarded and sent again, and the host is restarted and repooled', async () => {
    const h = await harness(fleet().cluster('appserver', 1, { batch: 1, minPooled: 0 }).build());
    const txn = h.kv.txn.bind(h.kv);
    let refused = 0;
    Object.assign(h.kv, {
      txn: async (...args: Parameters<typeof txn>) => {
        if (refused++ === 0) throw unreachableError('memory://kv', new Error('etcdserver: leader changed'));
        return txn(...args);
      },
    });
    const result = await h.run();
    expect(result.hosts[0]).toMatchObject({ outcome: 'done', leftDepooled: false });
    expect(h.names('host.depooled')).toEqual(['mw1001']);
    expect(h.names('host.repooled')).toEqual(['mw1001']);
  });
});

describe('a repool refused while etcd elects a leader', () => {
  it('is sent once more when the key is provably untouched, and the host is repooled', async () => {
    const h = await harness(fleet().cluster('appserver', 1, { batch: 1, minPooled: 0 }).build());
    const txn = h.kv.txn.bind(h.kv);
    let refused = 0;
    Object.assign(h.kv, {
      // Why: the repool is one transaction: the pool key's CAS and the host's journal record.
      txn: async (...args: Parameters<typeof txn>) => {
        if (
          args[1].some((put) => put.key.startsWith('/conftool/') && put.value.includes('"pooled":"yes"')) &&
          refused++ === 0
        )
          throw unreachableError('memory://kv', new Error('etcdserver: leader changed'));
        return txn(...args);
      },
    });
    const result = await h.run();
    expect(refused).toBe(2);
    expect(result.hosts[0]).toMatchObject({ outcome: 'done', leftDepooled: false });
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
  });
});

describe('every pool write of a run is fenced by its lock', () => {
  async function locked(h: Harness): Promise<{ fence: Fence; lose(): void }> {
    const locks = await acquireLocks(
      h.kv,
      [{ dc: 'eqiad', cluster: 'appserver' }],
      { user: 't', machine: 'm', pid: 1, command: 'rollout sync', runId: 'run-1', startedAt: '', reason: '' },
      { sleep: async () => {}, now: () => h.now },
    );
    return { fence: locks.fence, lose: () => h.kv.expire(locks.lease.id) };
  }

  it('writes nothing once the lock is gone before the first depool', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 2, minPooled: 0 }).build());
    const { fence, lose } = await locked(h);
    lose();
    const result = await h.run({ fence });
    expect(result.hosts.map((x) => [x.host, x.outcome, x.code, x.leftDepooled])).toEqual([
      ['mw1001', 'failed', 'E_LOCK_LOST', false],
      ['mw1002', 'failed', 'E_LOCK_LOST', false],
    ]);
    expect(h.execs).toEqual([]);
    expect(await pooledCount(h)).toBe(2);
  });

  it('does not repool after losing the lock mid-restart: the host stays depooled, reported as left', async () => {
    const h = await harness(fleet().cluster('appserver', 1, { batch: 1, minPooled: 0 }).build());
    const { fence, lose } = await locked(h);
    h.exec = (_host, command) => void (command.startsWith('systemctl') && lose());
    const result = await h.run({ fence });
    expect(result.hosts[0]).toMatchObject({ outcome: 'failed', code: 'E_LOCK_LOST', leftDepooled: true });
    expect((await h.value('mw1001'))?.['pooled']).toBe('no');
    expect(h.names('host.repooled')).toEqual([]);
  });
});

describe('a depool that conflicts on every attempt', () => {
  /** Every depool transaction is refused as if someone changed the cluster; counts event-loop turns meanwhile. */
  function alwaysConflicting(h: Harness): { attempts: () => number; starved: () => boolean; done(): void } {
    let attempts = 0;
    let turns = 0;
    let starved = false;
    let done = false;
    const tick = (): void => void setImmediate(() => ((turns += 1), !done && tick()));
    tick();
    Object.assign(h.pool, {
      writeAll: async () => {
        attempts += 1;
        // Why: a loop that never yields would keep vitest's own timeout from firing; say so and fail instead.
        if (attempts > 500 && turns === 0) {
          starved = true;
          throw new Error('the conflict-retry loop has not yielded to the event loop in 500 attempts');
        }
        throw txnConflictError({ keys: [] }, '/conftool/v1/pools/eqiad/appserver/php-fpm/mw1002');
      },
    });
    return { attempts: () => attempts, starved: () => starved, done: () => void (done = true) };
  }

  it('yields to the event loop between attempts, so a Ctrl-C (a timer) still ends it with nothing depooled', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, minPooled: 0 }).build());
    const conflicts = alwaysConflicting(h);
    const stop = new AbortController();
    setTimeout(() => stop.abort('SIGINT'), 50);
    await h.run({ stop: stop.signal, interrupt: stop.signal }).finally(conflicts.done);
    expect(conflicts.starved()).toBe(false);
    expect(conflicts.attempts()).toBeGreaterThan(1);
    expect(h.names('host.depooled')).toEqual([]);
    expect(h.names('host.failed')).toEqual([]);
    expect(await pooledCount(h)).toBe(2);
  });
});
