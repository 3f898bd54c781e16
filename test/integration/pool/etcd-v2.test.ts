// Pool keys on etcd's v2 API, against etcd 3.4 (--enable-v2=true) and conftool's own calls through
// Debian's python3-etcd: both directions, the batch's substitute for a transaction, and fencing.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { realSleep } from '../../../src/deps.js';
import { isRolloutError } from '../../../src/errors.js';
import type { InventoryCluster } from '../../../src/inventory/types.js';
import { poolKeysFor } from '../../../src/planner/plan.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { createV2Client, type V2Client } from '../../../src/kv/etcd-v2-client.js';
import { createV2PoolStore } from '../../../src/pool/etcd-v2-store.js';
import type { Kv } from '../../../src/kv/kv.js';
import { acquireLocks } from '../../../src/coordination/lock.js';
import { poolKeyPath } from '../../../src/pool/store.js';
import { poolKeyId, type PoolEntry, type PoolKey, type PoolStore } from '../../../src/pool/types.js';
import { inventoryYaml, rollout, scratch, writeFile } from '../../cli/cli.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdctl, etcdSettings } from '../../support/etcd-settings.js';
import { expectExit } from '../../support/explain.js';
import { fleet } from '../../support/fleet.js';
import { raceDepools } from '../../support/pool-race.js';

const PREFIX = '/conftool/v1/pools';
const CONFTOOL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'conftool.py');
const TRIES = 50;
const run = promisify(execFile);

let etcd: TestEtcd;
let kvs: Kv[];
let clients: V2Client[];
let pools: PoolStore[];
let dir: string;
let remove: () => void;
let inventory: string;
const { inventory: built } = fleet().cluster('appserver', 4, { batch: 1, minPooled: 3 }).build();
const cluster = built.datacenters[0]?.clusters[0] as InventoryCluster;
const keys = poolKeysFor([cluster]);
const key = (i: number): PoolKey => keys[i] as PoolKey;

/** conftool's calls, as conftool makes them (fixtures/conftool.py). */
async function conftool(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('/usr/bin/python3', [CONFTOOL, etcd.endpoint, ...args]).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '{}' }),
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

const conftoolRead = async (k: PoolKey): Promise<Record<string, unknown>> => conftool('read', poolKeyPath(PREFIX, k));
const pooledOf = async (k: PoolKey): Promise<unknown> =>
  ((await conftoolRead(k)).value as { pooled?: string } | undefined)?.pooled;

/** Plain v2 sets, behind rollout's back (the conftool path is tested above; this is only quicker). */
async function seedAll(value: object): Promise<void> {
  await Promise.all(
    keys.map((k) =>
      fetch(`${etcd.endpoint}/v2/keys${poolKeyPath(PREFIX, k)}`, {
        method: 'PUT',
        body: new URLSearchParams({ value: JSON.stringify(value) }),
      }),
    ),
  );
}

async function pooledNow(): Promise<number> {
  const snapshot = await (pools[0] as PoolStore).read(keys);
  return [...snapshot.values()].filter((e) => e.state === 'present' && e.value.pooled === 'yes').length;
}

const entryOf = async (pool: PoolStore, k: PoolKey): Promise<PoolEntry> =>
  (await pool.read([k])).get(poolKeyId(k)) as PoolEntry;

beforeAll(async () => {
  etcd = await startEtcd({ enableV2: true });
  kvs = [await connectEtcd(etcdSettings(etcd.endpoint)), await connectEtcd(etcdSettings(etcd.endpoint))];
  clients = kvs.map(() => createV2Client(etcdSettings(etcd.endpoint)));
  pools = kvs.map((kv, i) => createV2PoolStore(kv, clients[i] as V2Client, PREFIX));
  ({ dir, remove } = scratch());
  const hosts = cluster.hosts.map((h) => h.name);
  const yaml = inventoryYaml(etcd.endpoint, [
    { dc: cluster.dc, name: cluster.name, hosts: `${hosts.join('","')}`, minPooled: '50%' },
  ]);
  inventory = writeFile(dir, 'inventory.yaml', yaml.replace('  dialTimeout: 3\n', '  dialTimeout: 3\n  poolApi: v2\n'));
});
afterAll(async () => {
  for (const c of clients ?? []) c.close();
  for (const kv of kvs ?? []) await kv.close();
  await etcd?.stop();
  remove?.();
});
beforeEach(async () => {
  await seedAll({ pooled: 'yes', weight: 10 });
});

const cli = (...args: string[]): ReturnType<typeof rollout> => rollout([...args, '-i', inventory], { cwd: dir });

describe('rollout on poolApi v2, seen by conftool and PyBal', { timeout: 120_000 }, () => {
  it('creates missing keys the way conftool does (write with prevExist=False), and reads them', async () => {
    const fresh = { ...key(0), host: 'mw-new.eqiad.wmnet' };
    expect(
      await conftool('write', poolKeyPath(PREFIX, fresh), JSON.stringify({ pooled: 'inactive', weight: 0 })),
    ).toHaveProperty('modifiedIndex');
    expect(await entryOf(pools[0] as PoolStore, fresh)).toMatchObject({
      state: 'present',
      value: { pooled: 'inactive', weight: 0 },
    });
  });

  it('`rollout depool` is what python-etcd then reads, and a v2 watch (curl wait=true) gets the event', async () => {
    const index = (await (clients[0] as V2Client).get('/')).index;
    const url = `${etcd.endpoint}/v2/keys${PREFIX}/${cluster.dc}/${cluster.name}/?recursive=true&wait=true&waitIndex=${index + 1}`;
    const curl = spawn('/usr/bin/curl', ['-s', '--max-time', '60', url]);
    let body = '';
    curl.stdout.on('data', (chunk: Buffer) => (body += chunk.toString()));
    const curlDone = new Promise<void>((resolve) => curl.once('exit', () => resolve()));
    const r = await cli('depool', key(0).host, '--reason', 'T1 disk');
    expectExit(r, 0);
    expect(await pooledOf(key(0))).toBe('no');
    await curlDone;
    const event = JSON.parse(body) as { action: string; node: { key: string; value: string } };
    expect(event.action).toBe('compareAndSwap');
    expect(event.node.key).toBe(poolKeyPath(PREFIX, key(0)));
    expect(JSON.parse(event.node.value)).toEqual({ pooled: 'no', weight: 10 });
  });

  it('a conftool write of pooled: no (read, then update()) is what `rollout status` shows', async () => {
    expect(await conftool('write', poolKeyPath(PREFIX, key(1)), '{"pooled": "no"}')).toHaveProperty('modifiedIndex');
    const r = await cli('status', '--json');
    expectExit(r, 0);
    const rows = JSON.parse(r.stdout) as { host: string; pooled: string }[];
    expect(rows.find((row) => row.host === key(1).host)?.pooled).toBe('no');
    expect(rows.find((row) => row.host === key(0).host)?.pooled).toBe('yes');
  });

  it("refuses a repool of a host conftool changed since rollout read it (E_POOL_CONFLICT), keeping conftool's value", async () => {
    const pool = pools[0] as PoolStore;
    const depooledAt = await pool.write(await entryOf(pool, key(2)), { pooled: 'no' });
    const asRead = await entryOf(pool, key(2));
    expect(asRead).toMatchObject({ modRevision: depooledAt });
    await conftool('write', poolKeyPath(PREFIX, key(2)), '{"pooled": "inactive"}');
    const refused = await pool.write(asRead, { pooled: 'yes' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRolloutError(refused, 'E_POOL_CONFLICT'), String(refused)).toBe(true);
    expect(await pooledOf(key(2))).toBe('inactive');
  });

  it("conftool's own CAS loses to a rollout write between its read and its update (python-etcd raises EtcdCompareFailed)", async () => {
    const before = (await conftoolRead(key(3))).modifiedIndex as number;
    await (pools[0] as PoolStore).write(await entryOf(pools[0] as PoolStore, key(3)), { pooled: 'no' });
    expect(
      await conftool('stale-update', poolKeyPath(PREFIX, key(3)), String(before), '{"pooled": "yes"}'),
    ).toHaveProperty('conflict');
    expect(await pooledOf(key(3))).toBe('no');
  });
});

describe('poolApi v2 against an etcd that does not serve v2', { timeout: 120_000 }, () => {
  it('exits 5 at connect, saying to start etcd with --enable-v2=true', async () => {
    const plain = await startEtcd();
    try {
      const file = writeFile(
        dir,
        'no-v2.yaml',
        fs.readFileSync(inventory, 'utf8').replace(etcd.endpoint, plain.endpoint),
      );
      const r = await rollout(['status', '-i', file], { cwd: dir });
      expectExit(r, 5);
      expect(r.stderr).toContain('--enable-v2=true');
    } finally {
      await plain.stop();
    }
  });
});

describe('a batch on v2 (no multi-key transaction)', { timeout: 120_000 }, () => {
  it('depools every host, reports one revision for all of them, in this process and in another, and repools each on it', async () => {
    const pool = pools[0] as PoolStore;
    const read = await pool.readGuarded(keys);
    const writes = [0, 1].map((i) => ({
      entry: read.snapshot.get(poolKeyId(key(i))) as PoolEntry,
      change: { pooled: 'no' } as const,
    }));
    const revision = await pool.writeAll(read, writes, [{ key: '/rollout/v1/test/marker', value: 'committed' }]);
    expect((await kvs[0]?.get('/rollout/v1/test/marker'))?.value).toBe('committed');
    for (const i of [0, 1]) expect(await pooledOf(key(i))).toBe('no');
    const other = pools[1] as PoolStore;
    for (const p of [pool, other])
      for (const i of [0, 1])
        expect(await entryOf(p, key(i))).toMatchObject({ modRevision: revision, value: { pooled: 'no' } });
    for (const i of [0, 1]) await other.write(await entryOf(other, key(i)), { pooled: 'yes' });
    for (const i of [0, 1]) expect(await pooledOf(key(i))).toBe('yes');
  });

  it("writes nothing when conftool changed another host of the cluster since the guard's read", async () => {
    const pool = pools[0] as PoolStore;
    const read = await pool.readGuarded(keys);
    await conftool('write', poolKeyPath(PREFIX, key(3)), '{"weight": 5}');
    const writes = [0, 1].map((i) => ({
      entry: read.snapshot.get(poolKeyId(key(i))) as PoolEntry,
      change: { pooled: 'no' } as const,
    }));
    const refused = await pool.writeAll(read, writes, [{ key: '/rollout/v1/test/refused', value: 'x' }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRolloutError(refused, 'E_POOL_CONFLICT'), String(refused)).toBe(true);
    for (const i of [0, 1]) expect(await pooledOf(key(i))).toBe('yes');
    expect(await kvs[0]?.get('/rollout/v1/test/refused')).toBeNull();
  });

  it("undoes the hosts it had written when one host's CAS loses, and writes no marker", async () => {
    const pool = pools[0] as PoolStore;
    const read = await pool.readGuarded(keys);
    // Why: a stale entry for key(1) only (its index moved; the cluster guard is off) makes exactly that CAS lose.
    await conftool('write', poolKeyPath(PREFIX, key(1)), '{"weight": 7}');
    const writes = [0, 1].map((i) => ({
      entry: read.snapshot.get(poolKeyId(key(i))) as PoolEntry,
      change: { pooled: 'no' } as const,
    }));
    const refused = await pool
      .writeAll({ ...read, ranges: [] }, writes, [{ key: '/rollout/v1/test/undone', value: 'x' }])
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isRolloutError(refused, 'E_POOL_CONFLICT'), String(refused)).toBe(true);
    expect(await conftoolRead(key(0))).toMatchObject({ value: { pooled: 'yes', weight: 10 } });
    expect(await conftoolRead(key(1))).toMatchObject({ value: { pooled: 'yes', weight: 7 } });
    expect(await kvs[0]?.get('/rollout/v1/test/undone')).toBeNull();
  });
});

describe('two guarded depools of different hosts at the same moment on v2, minPooled 3 of 4', () => {
  it(`never leave fewer than minPooled pooled once both finished, in ${TRIES} tries`, async () => {
    const [a, b] = [cluster.hosts[0], cluster.hosts[1]];
    if (!a || !b) throw new Error('fixture');
    const outcomes = { one: 0, both: 0, neither: 0 };
    let lowest = Infinity;
    for (let i = 0; i < TRIES; i += 1) {
      await seedAll({ pooled: 'yes', weight: 10 });
      const won = await raceDepools(pools, cluster, a, b);
      outcomes[won === 1 ? 'one' : won === 2 ? 'both' : 'neither'] += 1;
      const now = await pooledNow();
      expect(now).toBe(4 - won);
      lowest = Math.min(lowest, now);
    }
    console.log(`v2 race outcomes in ${TRIES} tries: ${JSON.stringify(outcomes)}`);
    expect({ lowest, both: outcomes.both }).toEqual({ lowest: 3, both: 0 });
  }, 180_000);
});

describe('fencing on v2', () => {
  it("a write fenced by the run's v3 lock applies while it is held and is refused once its lease was revoked", async () => {
    const kv = kvs[0] as Kv;
    const pool = pools[0] as PoolStore;
    const holder = {
      user: 't',
      machine: 'm',
      pid: 1,
      command: 'rollout sync',
      runId: 'fenced-v2',
      startedAt: '',
      reason: '',
    };
    const locks = await acquireLocks(kv, [{ dc: cluster.dc, cluster: cluster.name }], holder, {
      sleep: realSleep,
      now: Date.now,
    });
    await pool.write(await entryOf(pool, key(2)), { pooled: 'no' }, locks.fence);
    expect(await pooledOf(key(2))).toBe('no');
    etcdctl(etcd.endpoint, 'lease', 'revoke', BigInt(locks.lease.id).toString(16));
    const refused = await pool.write(await entryOf(pool, key(2)), { pooled: 'yes' }, locks.fence).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRolloutError(refused, 'E_POOL_CONFLICT'), String(refused)).toBe(true);
    const batch = await pool.readGuarded(keys);
    const refusedBatch = await pool
      .writeAll(
        batch,
        [{ entry: batch.snapshot.get(poolKeyId(key(0))) as PoolEntry, change: { pooled: 'no' } }],
        [],
        locks.fence,
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isRolloutError(refusedBatch, 'E_POOL_CONFLICT'), String(refusedBatch)).toBe(true);
    expect(await pooledOf(key(2))).toBe('no');
    expect(await pooledOf(key(0))).toBe('yes');
    await locks.release().catch(() => undefined);
  }, 60_000);
});
