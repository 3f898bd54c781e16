// The capacity guard of the sliding window on a real etcd: two window runs and a manual depool racing on one cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depoolCluster } from '../../../src/commands/pool.js';
import { isRolloutError } from '../../../src/errors.js';
import type { InventoryCluster } from '../../../src/inventory/types.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import type { Kv, WatchEvent } from '../../../src/kv/kv.js';
import { createPoolStore, poolKeyPath } from '../../../src/pool/store.js';
import { poolKeysFor } from '../../../src/planner/plan.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdSettings } from '../../support/etcd-settings.js';
import { fleet } from '../../support/fleet.js';
import { NETS } from '../../support/nets.js';
import { countConflicts } from '../../support/pool-race.js';
import { harness, PREFIX, type Harness } from '../../unit/orchestrator/harness.js';

const TRIES = 50;
const MIN_POOLED = 4;
const built = fleet().cluster('appserver', 8, { batch: 2, minPooled: MIN_POOLED }).build();
const cluster = built.inventory.datacenters[0]?.clusters[0] as InventoryCluster;
const clusterPrefix = `${PREFIX}/${cluster.dc}/${cluster.name}/`;

let etcd: TestEtcd;
let kvs: Kv[];

beforeAll(async () => {
  etcd = await startEtcd({ host: `${NETS.windowRace}.2` });
  // Why: three clients, three gRPC connections: the two runs and the manual depool really race inside etcd.
  kvs = await Promise.all([0, 1, 2].map(() => connectEtcd(etcdSettings(etcd.endpoint))));
});
afterAll(async () => {
  for (const kv of kvs ?? []) await kv.close();
  await etcd?.stop();
});

/** Every pool change of the cluster since `from`, replayed in revision order by an etcd watch. */
async function history(kv: Kv, from: number): Promise<WatchEvent[]> {
  const until = await kv.revision();
  const seen: WatchEvent[] = [];
  let done = (): void => undefined;
  const caughtUp = new Promise<void>((resolve) => (done = resolve));
  const watch = await kv.watch(clusterPrefix, from, {
    onEvent: (e) => {
      seen.push(e);
      if ((e.type === 'put' ? e.entry.modRevision : e.modRevision) >= until) done();
    },
    onResync: () => undefined,
  });
  await Promise.race([caughtUp, new Promise((resolve) => setTimeout(resolve, 2000))]);
  await watch.close();
  return seen;
}

/** The fewest hosts pooled at any revision, replaying the changes on the state at `from`. */
function lowestPooled(events: readonly WatchEvent[], hosts: number): number {
  const pooled = new Map<string, boolean>();
  let lowest = hosts;
  for (const e of events) {
    if (e.type !== 'put') continue;
    pooled.set(e.entry.key, (JSON.parse(e.entry.value) as { pooled: string }).pooled === 'yes');
    // Why: a depool transaction's keys arrive one by one, each lowering the count: the minimum is exact.
    lowest = Math.min(lowest, hosts - [...pooled.values()].filter((yes) => !yes).length);
  }
  return lowest;
}

describe('two window runs and a manual depool racing on one cluster (8 hosts, minPooled 4, W 2 each)', () => {
  it(`never take it below minPooled, in ${TRIES} tries`, async () => {
    const [ka, kb, km] = kvs;
    if (!ka || !kb || !km) throw new Error('fixture');
    const runs: Harness<Kv>[] = [await harness(built, ka), await harness(built, kb)];
    const manualPool = createPoolStore(km, PREFIX);
    const refused = countConflicts([...runs.map((h) => h.pool), manualPool]);
    let lowest = Infinity;
    let manualDepools = 0;
    let bothDepooled = 0;
    for (let i = 0; i < TRIES; i += 1) {
      for (const key of poolKeysFor([cluster]))
        await ka.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'yes', weight: 10 }));
      const from = await ka.revision();
      const host = cluster.hosts[i % cluster.hosts.length];
      if (!host) throw new Error('fixture');
      const manual = (async () => {
        await new Promise((resolve) => setTimeout(resolve, i % 7));
        await depoolCluster(manualPool, cluster, [host], false).then(
          () => (manualDepools += 1),
          (error: unknown) => {
            // Refused by the guard, or outraced every attempt: both leave the cluster whole.
            if (!isRolloutError(error, 'E_CAPACITY') && !isRolloutError(error, 'E_POOL_CONFLICT')) throw error;
          },
        );
      })();
      const [a, b] = await Promise.all(runs.map((h, n) => h.run({ runId: `race-${i}-${n}`, capacityWaitSeconds: 2 })));
      await manual;
      const depooledBy = [a, b].map((r) => r?.hosts.some((x) => x.outcome === 'done') ?? false);
      if (depooledBy.every(Boolean)) bothDepooled += 1;
      lowest = Math.min(lowest, lowestPooled(await history(ka, from), cluster.hosts.length));
    }
    console.log(
      `window race: lowest ${lowest} pooled (min ${MIN_POOLED}); ${refused()} depool commits refused because another landed first; manual depool landed in ${manualDepools} of ${TRIES} tries; both runs restarted hosts in ${bothDepooled}`,
    );
    expect(lowest).toBeGreaterThanOrEqual(MIN_POOLED);
    expect(refused(), 'the depools never overlapped: the test raced nothing').toBeGreaterThan(0);
    expect(bothDepooled, 'the two runs never overlapped').toBeGreaterThan(0);
  }, 300_000);
});
