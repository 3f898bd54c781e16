// Hosts in two pools (apache2 and nginx) on etcd's v2 API, as conftool and PyBal use it: the whole
// orchestrator depools both keys of a host in one guarded write, PyBal (the stand-in, following v2
// long-polls) confirms both pools, conftool's own writes stand, and racing depools keep minPooled.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Inventory, InventoryCluster } from '../../../src/inventory/types.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { createV2Client, type V2Client } from '../../../src/kv/etcd-v2-client.js';
import type { Kv } from '../../../src/kv/kv.js';
import { withPybal } from '../../../src/lb/confirm-port.js';
import { createMemoryLbConfirmations } from '../../../src/lb/confirm-memory.js';
import { createPybalClient } from '../../../src/lb/pybal-client.js';
import { createPybalPoller } from '../../../src/lb/pybal-poller.js';
import { poolKeysFor } from '../../../src/planner/plan.js';
import { hostEntries, pooledEverywhere } from '../../../src/pool/host-entry.js';
import { createV2PoolStore } from '../../../src/pool/etcd-v2-store.js';
import { createV2PoolFeed } from '../../../src/pool/etcd-v2-watch.js';
import { poolKeyPath } from '../../../src/pool/store.js';
import { poolKeyId, type PoolKey, type PoolStore } from '../../../src/pool/types.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdSettings } from '../../support/etcd-settings.js';
import { fleet } from '../../support/fleet.js';
import { NETS } from '../../support/nets.js';
import { countConflicts, raceDepools } from '../../support/pool-race.js';
import { startPybalStandin } from '../../support/pybal-standin.js';
import { harness, PREFIX } from '../../unit/orchestrator/harness.js';

const CONFTOOL = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'conftool.py');
const SERVICES = ['apache2', 'nginx'];
const TRIES = 50;
const exec = promisify(execFile);

let etcd: TestEtcd;
let kvs: Kv[];
let clients: V2Client[];
let pools: PoolStore[];

beforeAll(async () => {
  etcd = await startEtcd({ enableV2: true, host: `${NETS.services}.2` });
  kvs = [await connectEtcd(etcdSettings(etcd.endpoint)), await connectEtcd(etcdSettings(etcd.endpoint))];
  clients = kvs.map(() => createV2Client(etcdSettings(etcd.endpoint)));
  pools = kvs.map((kv, i) => createV2PoolStore(kv, clients[i] as V2Client, PREFIX));
});
afterAll(async () => {
  for (const c of clients ?? []) c.close();
  for (const kv of kvs ?? []) await kv.close();
  await etcd?.stop();
});

/** A cluster of `size` hosts, each in apache2 and nginx. */
function twoPools(name: string, size: number, minPooled: number, lb?: object) {
  const built = fleet()
    .cluster(name, size, { batch: 1, minPooled, settings: { service: 'apache2', ...(lb ? { lb } : {}) } })
    .build();
  for (const host of built.inventory.datacenters.flatMap((d) => d.clusters).flatMap((c) => c.hosts))
    Object.assign(host.settings, { services: SERVICES });
  return built;
}

const clusterOf = (inventory: Inventory): InventoryCluster => inventory.datacenters[0]?.clusters[0] as InventoryCluster;

/** Plain v2 sets of every key of the cluster, behind rollout's back. */
async function seed(cluster: InventoryCluster, pooled = 'yes'): Promise<void> {
  await Promise.all(
    poolKeysFor([cluster]).map((k) =>
      fetch(`${etcd.endpoint}/v2/keys${poolKeyPath(PREFIX, k)}`, {
        method: 'PUT',
        body: new URLSearchParams({ value: JSON.stringify({ pooled, weight: 10 }) }),
      }),
    ),
  );
}

/** conftool's read through python3-etcd: the value and v2 modifiedIndex. */
async function conftoolRead(
  key: PoolKey,
): Promise<{ value: { pooled: string; weight: number }; modifiedIndex: number }> {
  const { stdout } = await exec('/usr/bin/python3', [CONFTOOL, etcd.endpoint, 'read', poolKeyPath(PREFIX, key)]);
  return JSON.parse(stdout) as { value: { pooled: string; weight: number }; modifiedIndex: number };
}

const keyOf = (cluster: string, service: string, host: string): PoolKey => ({ dc: 'eqiad', cluster, service, host });

describe('a host in apache2 and nginx on poolApi v2', { timeout: 120_000 }, () => {
  it('is depooled in both pools at one index, confirmed by PyBal in both, and repooled in both', async () => {
    const built = twoPools('svc1', 2, 1, { confirm: 'pybal', confirmTimeoutSeconds: 10 });
    const h = await harness(built, kvs[0] as Kv, () => pools[0] as PoolStore);
    await seed(clusterOf(built.inventory));
    const standin = await startPybalStandin({
      feed: createV2PoolFeed(clients[1] as V2Client),
      prefix: PREFIX,
      dc: 'eqiad',
      host: `${NETS.services}.3`,
    });
    try {
      for (const host of clusterOf(built.inventory).hosts)
        Object.assign(host.settings, {
          lb: { ...host.settings.lb, pybal: { urls: [standin.url], service: '{service}' } },
        });
      const during: Record<string, unknown[]> = {};
      h.exec = async (host, command) => {
        if (command === 'true') return undefined;
        const read = await Promise.all(SERVICES.map((s) => conftoolRead(keyOf('svc1', s, host))));
        // Why: v2 has no multi-key transaction; the batch's one revision is what rollout reports for both keys, in any process.
        const keys = SERVICES.map((s) => keyOf('svc1', s, host));
        const seen = await (pools[1] as PoolStore).read(keys);
        const revisions = keys
          .map((k) => seen.get(poolKeyId(k)))
          .map((e) => (e?.state === 'present' ? e.modRevision : 0));
        during[host] = [
          ...read.map((r) => r.value.pooled),
          revisions[0] === revisions[1] && (revisions[0] ?? 0) > 0,
          ...SERVICES.map((s) => standin.state(s, host)?.pooled),
        ];
        return undefined;
      };
      const lb = withPybal(createMemoryLbConfirmations(), createPybalPoller({ client: createPybalClient() }));
      const result = await h.run({ lb });
      expect(result.exitCode).toBe(0);
      // apache2 and nginx both `no` (by conftool's read) at one reported revision, and out of both LVS pools, while PHP-FPM restarts.
      expect(during).toEqual({ mw1001: ['no', 'no', true, false, false], mw1002: ['no', 'no', true, false, false] });
      for (const host of ['mw1001', 'mw1002'])
        for (const s of SERVICES) expect((await conftoolRead(keyOf('svc1', s, host))).value.pooled).toBe('yes');
      const confirmed = h.events.find((e) => e.event === 'lb.confirmed');
      expect(confirmed && 'agents' in confirmed ? confirmed.agents : []).toEqual(
        SERVICES.map((s) => `${standin.url}/pools/${s}`),
      );
    } finally {
      await standin.close();
    }
  });

  it('keeps the nginx key conftool changed during the restart, and still repools apache2', async () => {
    const built = twoPools('svc2', 2, 0);
    const h = await harness(built, kvs[0] as Kv, () => pools[0] as PoolStore);
    await seed(clusterOf(built.inventory));
    h.exec = async (host, command) => {
      if (host === 'mw1001' && command !== 'true')
        await exec('/usr/bin/python3', [
          CONFTOOL,
          etcd.endpoint,
          'write',
          poolKeyPath(PREFIX, keyOf('svc2', 'nginx', 'mw1001')),
          '{"weight": 3}',
        ]);
      return undefined;
    };
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect((await conftoolRead(keyOf('svc2', 'apache2', 'mw1001'))).value).toEqual({ pooled: 'yes', weight: 10 });
    expect((await conftoolRead(keyOf('svc2', 'nginx', 'mw1001'))).value).toEqual({ pooled: 'no', weight: 3 });
    const skipped = h.events.flatMap((e) => (e.event === 'host.repool-skipped' ? [`${e.host} ${e.reason}`] : []));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^mw1001 nginx: changed by someone else during the run/);
  });
});

describe('two guarded depools of two-pool hosts at the same moment on v2, minPooled 3 of 4', () => {
  it(`never leave fewer than 3 hosts pooled in both pools, nor a host half depooled, in ${TRIES} tries`, async () => {
    const { inventory } = twoPools('race', 4, 3);
    const cluster = clusterOf(inventory);
    const [a, b] = [cluster.hosts[0], cluster.hosts[1]];
    if (!a || !b) throw new Error('fixture');
    // Why: a race that never overlapped proves nothing; count the commits refused because the other landed first.
    const refused = countConflicts(pools);
    const outcomes = { one: 0, both: 0, neither: 0 };
    let lowest = Infinity;
    for (let i = 0; i < TRIES; i += 1) {
      await seed(cluster);
      const won = await raceDepools(pools, cluster, a, b);
      outcomes[won === 1 ? 'one' : won === 2 ? 'both' : 'neither'] += 1;
      const snapshot = await (pools[0] as PoolStore).read(poolKeysFor([cluster]));
      const states = cluster.hosts.map((host) =>
        SERVICES.map((s) => {
          const e = snapshot.get(poolKeyId(keyOf('race', s, host.name)));
          return e?.state === 'present' ? e.value.pooled : 'missing';
        }).join('/'),
      );
      // Atomic per host: both keys yes, or both no.
      expect(
        states.every((s) => s === 'yes/yes' || s === 'no/no'),
        states.join(' '),
      ).toBe(true);
      const everywhere = cluster.hosts.filter((host) =>
        pooledEverywhere(
          hostEntries(
            snapshot,
            SERVICES.map((s) => keyOf('race', s, host.name)),
          ),
        ),
      ).length;
      expect(everywhere).toBe(4 - won);
      lowest = Math.min(lowest, everywhere);
    }
    console.log(
      `two-pool v2 race in ${TRIES} tries: ${JSON.stringify(outcomes)}, ${refused()} commits refused by the other`,
    );
    expect({ lowest, both: outcomes.both }).toEqual({ lowest: 3, both: 0 });
    expect(refused(), 'the two depools never overlapped: the test raced nothing').toBeGreaterThan(0);
  }, 180_000);
});
