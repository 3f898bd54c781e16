// The capacity guard under concurrency on a real etcd: two depools racing on one cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import type { InventoryCluster } from '../../../src/inventory/types.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import type { Kv } from '../../../src/kv/kv.js';
import { createPoolStore, poolKeyPath } from '../../../src/pool/store.js';
import { poolKeyId, type PoolEntry, type PoolStore } from '../../../src/pool/types.js';
import { acquireLocks } from '../../../src/coordination/lock.js';
import { realSleep } from '../../../src/deps.js';
import { poolKeysFor } from '../../../src/planner/plan.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdctl, etcdSettings } from '../../support/etcd-settings.js';
import { fleet } from '../../support/fleet.js';
import { countConflicts, raceDepools } from '../../support/pool-race.js';

const PREFIX = '/conftool/v1/pools';
const TRIES = 50;

let etcd: TestEtcd;
let kvs: Kv[];
let pools: PoolStore[];
const { inventory } = fleet().cluster('appserver', 4, { batch: 1, minPooled: 3 }).build();
const cluster = inventory.datacenters[0]?.clusters[0] as InventoryCluster;

beforeAll(async () => {
  etcd = await startEtcd();
  // Why: two clients, two gRPC connections: the two depools really race inside etcd.
  kvs = [await connectEtcd(etcdSettings(etcd.endpoint)), await connectEtcd(etcdSettings(etcd.endpoint))];
  pools = kvs.map((kv) => createPoolStore(kv, PREFIX));
});
afterAll(async () => {
  for (const kv of kvs ?? []) await kv.close();
  await etcd?.stop();
});

async function pooledNow(): Promise<number> {
  const snapshot = await pools[0]?.read(poolKeysFor([cluster]));
  return [...(snapshot?.values() ?? [])].filter((e) => e.state === 'present' && e.value.pooled === 'yes').length;
}

describe('two depools of different hosts at the same moment, minPooled 3 of 4', () => {
  it(`never leave fewer than minPooled pooled, in ${TRIES} tries`, async () => {
    const [a, b] = [cluster.hosts[0], cluster.hosts[1]];
    if (!a || !b || !pools[0] || !pools[1]) throw new Error('fixture');
    const outcomes = { one: 0, both: 0, neither: 0 };
    let lowest = Infinity;
    // Why: a race that never overlapped proves nothing; count the commits etcd refused because the other landed first.
    const refused = countConflicts(pools);
    for (let i = 0; i < TRIES; i += 1) {
      for (const key of poolKeysFor([cluster]))
        await kvs[0]?.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'yes', weight: 10 }));
      const won = await raceDepools(pools, cluster, a, b, ['E_CAPACITY']);
      outcomes[won === 1 ? 'one' : won === 2 ? 'both' : 'neither'] += 1;
      lowest = Math.min(lowest, await pooledNow());
    }
    expect({ lowest, both: outcomes.both, neither: outcomes.neither }).toEqual({ lowest: 3, both: 0, neither: 0 });
    console.log(`race: ${refused()} of ${TRIES} tries had a commit refused because the other depool landed first`);
    expect(refused(), 'the two depools never overlapped: the test raced nothing').toBeGreaterThan(0);
  }, 120_000);
});

describe("a write fenced by a run's lock on a real etcd", () => {
  it("applies while the lock is held and is refused once its lease was revoked behind the run's back", async () => {
    const kv = kvs[0];
    const pool = pools[0];
    if (!kv || !pool) throw new Error('fixture');
    const key = poolKeysFor([cluster])[2];
    if (!key) throw new Error('fixture');
    await kv.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'yes', weight: 10 }));
    const holder = {
      user: 't',
      machine: 'm',
      pid: 1,
      command: 'rollout sync',
      runId: 'fenced',
      startedAt: '',
      reason: '',
    };
    const locks = await acquireLocks(kv, [{ dc: cluster.dc, cluster: cluster.name }], holder, {
      sleep: realSleep,
      now: Date.now,
    });
    const read = async () => (await pool.read([key])).get(poolKeyId(key)) as PoolEntry;
    await pool.write(await read(), { pooled: 'no' }, locks.fence);
    expect(await read()).toMatchObject({ value: { pooled: 'no' } });
    etcdctl(etcd.endpoint, 'lease', 'revoke', BigInt(locks.lease.id).toString(16));
    const refused = await pool.write(await read(), { pooled: 'yes' }, locks.fence).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRolloutError(refused, 'E_POOL_CONFLICT'), String(refused)).toBe(true);
    expect(await read()).toMatchObject({ value: { pooled: 'no' } });
    await locks.release().catch(() => undefined);
  }, 60_000);
});
