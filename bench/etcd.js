// etcd benchmark: CAS writes of conftool values through the pool store, against the sandbox etcd.
// Uses its own prefix so neither the LB agents nor the sandbox's pool keys see these writes.
import { loadInventory } from '../dist/inventory/load.js';
import { connectEtcd } from '../dist/kv/etcd-kv.js';
import { createPoolStore } from '../dist/pool/store.js';
import { poolKeyId } from '../dist/pool/types.js';
import { median, msSince, quantile } from './stats.js';

const PREFIX = '/rollout-bench/pools';

function stat(values) {
  return { median: median(values), p95: quantile(values, 0.95), max: Math.max(...values), samples: values.length };
}

/** `writes` sequential CAS writes on one key (depool/repool alternately), each on the revision the last returned. */
async function sequentialCas(store, writes) {
  const key = { dc: 'bench', cluster: 'appserver', service: 'php-fpm', host: 'mw-seq.bench' };
  await store.write({ key, state: 'missing' }, { pooled: 'yes', weight: 10 });
  let entry = (await store.read([key])).get(poolKeyId(key));
  const latencies = [];
  for (let i = 0; i < writes; i += 1) {
    const pooled = i % 2 === 0 ? 'no' : 'yes';
    const start = process.hrtime.bigint();
    const modRevision = await store.write(entry, { pooled });
    latencies.push(msSince(start));
    entry = { ...entry, value: { ...entry.value, pooled }, modRevision };
  }
  return latencies;
}

/** One CAS write on each of `count` keys, all in flight at once: throughput. */
async function parallelCas(store, count) {
  const keys = Array.from({ length: count }, (_, i) => ({
    dc: 'bench',
    cluster: 'parallel',
    service: 'php-fpm',
    host: `mw${1000 + i}.bench`,
  }));
  await Promise.all(keys.map((key) => store.write({ key, state: 'missing' }, { pooled: 'yes', weight: 10 })));
  const snapshot = await store.read(keys);
  const start = process.hrtime.bigint();
  await Promise.all(keys.map((key) => store.write(snapshot.get(poolKeyId(key)), { pooled: 'no' })));
  const wallMs = msSince(start);
  return { writes: count, wallMs, writesPerSecond: count / (wallMs / 1000) };
}

/** Reads of one cluster's keys (one list), as the planner and every batch do. */
async function reads(store, samples) {
  const keys = Array.from({ length: 200 }, (_, i) => ({
    dc: 'bench',
    cluster: 'parallel',
    service: 'php-fpm',
    host: `mw${1000 + i}.bench`,
  }));
  const latencies = [];
  for (let i = 0; i < samples; i += 1) {
    const start = process.hrtime.bigint();
    await store.read(keys);
    latencies.push(msSince(start));
  }
  return latencies;
}

export async function benchEtcd({ sandbox, writes = 200, log }) {
  const settings = loadInventory(sandbox.inventoryFile).etcd;
  const kv = await connectEtcd(settings);
  try {
    const store = createPoolStore(kv, PREFIX);
    await kv.revision(); // warm-up: channel established
    const seq = sequentialCas(store, writes);
    const casMs = stat(await seq);
    log?.(`etcd: CAS median ${casMs.median.toFixed(2)} ms, p95 ${casMs.p95.toFixed(2)} ms`);
    const parallel = await parallelCas(store, writes);
    const readMs = stat(await reads(store, 50));
    for (const entry of await kv.list(`${PREFIX}/`)) await kv.delete(entry.key);
    return { endpoint: settings.endpoints[0], casMs, parallel, read200KeysMs: readMs };
  } finally {
    await kv.close();
  }
}
