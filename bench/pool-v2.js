#!/usr/bin/env node
// `node bench/pool-v2.js` after `npm run build`: a guarded read + batch depool, v3's one transaction
// against v2's checked sequence (etcd-v2-batch.ts), on one throwaway loopback etcd 3.4 --enable-v2.
// Not part of bench/run.js's default set; prints one line per API and batch size.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { URLSearchParams, fileURLToPath } from 'node:url';
const D = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { connectEtcd } = await import(`${D}/kv/etcd-kv.js`);
const { createPoolStore, poolKeyPath } = await import(`${D}/pool/store.js`);
const { createV2Client } = await import(`${D}/kv/etcd-v2-client.js`);
const { createV2PoolStore } = await import(`${D}/pool/etcd-v2-store.js`);
const { DEFAULT_ETCD } = await import(`${D}/inventory/defaults.js`);
const dir = fs.mkdtempSync('/tmp/v2bench-');
// Why: 127.0.72 is this work's loopback net (test/support/nets.ts: v2).
const ep = 'http://127.0.72.2:23790';
const child = spawn(
  '/usr/bin/etcd',
  [
    '--name',
    'b',
    '--data-dir',
    `${dir}/d`,
    '--listen-client-urls',
    ep,
    '--advertise-client-urls',
    ep,
    '--listen-peer-urls',
    'http://127.0.72.2:23800',
    '--initial-advertise-peer-urls',
    'http://127.0.72.2:23800',
    '--initial-cluster',
    'b=http://127.0.72.2:23800',
    '--enable-v2=true',
  ],
  { stdio: 'ignore' },
);
try {
  for (let i = 0; i < 100; i += 1) {
    try {
      if ((await (await fetch(`${ep}/health`)).json()).health === 'true') break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const settings = { ...DEFAULT_ETCD, endpoints: [ep] };
  const kv = await connectEtcd(settings);
  const client = createV2Client(settings);
  const P = '/conftool/v1/pools';
  const stores = { v3: createPoolStore(kv, P), v2: createV2PoolStore(kv, client, P) };
  for (const size of [1, 10]) {
    const keys = Array.from({ length: 40 }, (_, i) => ({
      dc: 'eqiad',
      cluster: `c${size}`,
      service: 'php-fpm',
      host: `mw${i}`,
    }));
    for (const k of keys) {
      await kv.put(poolKeyPath(P, k), JSON.stringify({ pooled: 'yes', weight: 10 }));
      await fetch(`${ep}/v2/keys${poolKeyPath(P, k)}`, {
        method: 'PUT',
        body: new URLSearchParams({ value: JSON.stringify({ pooled: 'yes', weight: 10 }) }),
      });
    }
    for (const [api, store] of Object.entries(stores)) {
      const times = [];
      for (let round = 0; round < 30; round += 1) {
        const t0 = performance.now();
        const read = await store.readGuarded(keys);
        const want = round % 2 === 0 ? 'no' : 'yes';
        const writes = keys
          .slice(0, size)
          .map((k) => ({ entry: read.snapshot.get(`eqiad/c${size}/php-fpm/${k.host}`), change: { pooled: want } }));
        await store.writeAll(read, writes, [{ key: `/rollout/v1/bench/${api}/${size}/${round}`, value: 'x' }]);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      console.log(
        `${api} guarded read + batch of ${size} (cluster of 40): median ${times[15].toFixed(1)} ms, p90 ${times[27].toFixed(1)} ms`,
      );
    }
  }
  client.close();
  await kv.close();
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });
}
