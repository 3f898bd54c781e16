// A whole `sync` on poolApi v2: the sandbox keeps conftool's pool keys on etcd's v2 API (as
// conftool and PyBal use them), its LB agents follow them with v2 long-polls into HAProxy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { sandboxDown, sandboxUp } from '../../scripts/lib/sandbox.mjs';
import type { SandboxState } from '../../scripts/lib/sandbox.mjs';
import { connectEtcd } from '../../src/kv/etcd-kv.js';
import { createV2Client, type V2Client } from '../../src/kv/etcd-v2-client.js';
import { createV2PoolStore } from '../../src/pool/etcd-v2-store.js';
import type { Kv } from '../../src/kv/kv.js';
import { poolKeyId, type PoolStore } from '../../src/pool/types.js';
import { etcdSettings } from '../support/etcd-settings.js';
import { expectExit } from '../support/explain.js';
import { CONFTOOL_SCRIPT } from '../support/conftool.js';
import { NETS } from '../support/nets.js';
import { events, exitOf, loadAll, pids, rollout, spawnRollout, until, writeTestInventory } from './helpers.js';

let dir: string;
let work: string;
let sandbox: SandboxState;
let inventory: string;
let kv: Kv;
let client: V2Client;
let pool: PoolStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-v2-'));
  sandbox = await sandboxUp({
    dir,
    dcs: ['eqiad', 'codfw'],
    clusters: ['appserver'],
    hostsPerCluster: 4,
    net: NETS.v2,
    sshBasePort: 2700,
    release: 'r1',
    poolApi: 'v2',
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-v2-work-'));
  inventory = path.join(work, 'v2.yaml');
  writeTestInventory(sandbox, inventory);
  kv = await connectEtcd(etcdSettings(sandbox.etcd.endpoint));
  client = createV2Client(etcdSettings(sandbox.etcd.endpoint));
  pool = createV2PoolStore(kv, client, '/conftool/v1/pools');
  await until(
    'two LB agents',
    async () =>
      (await kv.list('/rollout/v1/lb/eqiad/agents/')).length > 0 &&
      (await kv.list('/rollout/v1/lb/codfw/agents/')).length > 0,
  );
}, 180_000);

afterAll(async () => {
  client?.close();
  await kv?.close();
  if (dir) await sandboxDown({ dir });
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 60_000);

const CONFTOOL = CONFTOOL_SCRIPT;
const run = promisify(execFile);

const keyOf = (h: SandboxState['hosts'][number]) => ({
  dc: h.dc,
  cluster: h.cluster,
  service: 'php-fpm',
  host: h.name,
});

describe('rollout on poolApi v2, on a real sandbox fleet under load', () => {
  it('keeps the pool keys on v2 only: the v3 keyspace holds none of them', async () => {
    expect(fs.readFileSync(inventory, 'utf8')).toContain('poolApi: v2');
    const snapshot = await pool.read(sandbox.hosts.map(keyOf));
    for (const h of sandbox.hosts)
      expect(snapshot.get(poolKeyId(keyOf(h))), h.name).toMatchObject({ state: 'present', value: { pooled: 'yes' } });
    expect(await kv.list('/conftool/')).toEqual([]);
  });

  it('sync restarts every PHP-FPM master without a failed request, confirmed by the v2 LB agents', async () => {
    const before = await pids(sandbox);
    const load = loadAll(sandbox);
    await new Promise((r) => setTimeout(r, 500));
    const result = await rollout(['sync', '--json', '--reason', 'e2e v2'], inventory);
    const traffic = await load.stop();
    expectExit(result, 0);
    console.log(`v2 sync under load: ${traffic.ok} served, ${traffic.failed} failed`);
    expect(traffic.failed, JSON.stringify(traffic.failures)).toBe(0);
    expect(traffic.ok).toBeGreaterThan(0);
    const after = await pids(sandbox);
    const snapshot = await pool.read(sandbox.hosts.map(keyOf));
    for (const h of sandbox.hosts) {
      expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
      expect(snapshot.get(poolKeyId(keyOf(h))), h.name).toMatchObject({ value: { pooled: 'yes' } });
    }
    const evs = events(result.stdout);
    expect(evs.filter((e) => e['event'] === 'lb.confirmed')).toHaveLength(sandbox.hosts.length);
    expect(evs.filter((e) => e['event'] === 'host.repooled')).toHaveLength(sandbox.hosts.length);
    expect(evs.filter((e) => e['event'] === 'lb.propagation-assumed')).toHaveLength(0);
    expect((await kv.list('/rollout/v1/runs/')).map((e) => e.key)).toEqual([]);
  }, 240_000);

  it('leaves a host conftool changed while it was depooled as conftool left it (its repool is refused), and repools the others', async () => {
    const slow = path.join(work, 'slow-drain.yaml');
    const doc = parseDocument(fs.readFileSync(inventory, 'utf8'));
    doc.setIn(['defaults', 'drain'], doc.createNode({ mode: 'fixed', seconds: 4 }));
    fs.writeFileSync(slow, doc.toString());
    const child = spawnRollout(
      ['sync', '--cluster', 'appserver', '--dc', 'eqiad', '--json', '--reason', 'e2e v2 conftool'],
      slow,
    );
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const eqiad = sandbox.hosts.filter((h) => h.dc === 'eqiad');
    const depooled = await until(
      'a depooled eqiad host',
      async () => {
        const snapshot = await pool.read(eqiad.map(keyOf));
        return eqiad.find((h) => {
          const e = snapshot.get(poolKeyId(keyOf(h)));
          return e?.state === 'present' && e.value.pooled === 'no';
        });
      },
      60_000,
    );
    // conftool's own write (a quorum read, then update()), while rollout drains the host.
    await run('/usr/bin/python3', [
      CONFTOOL,
      sandbox.etcd.endpoint,
      'write',
      `/conftool/v1/pools/${depooled.dc}/${depooled.cluster}/php-fpm/${depooled.name}`,
      '{"weight": 5}',
    ]);
    await exitOf(child);
    const evs = events(stdout);
    const skipped = evs.filter((e) => e['event'] === 'host.repool-skipped');
    expect(skipped.map((e) => e['host'])).toEqual([depooled.name]);
    expect(String(skipped[0]?.['reason'])).toContain('changed by someone else');
    const snapshot = await pool.read(eqiad.map(keyOf));
    for (const h of eqiad) {
      expect(snapshot.get(poolKeyId(keyOf(h))), h.name).toMatchObject({
        value: h === depooled ? { pooled: 'no', weight: 5 } : { pooled: 'yes' },
      });
    }
    const back = snapshot.get(poolKeyId(keyOf(depooled)));
    if (back?.state === 'present') await pool.write(back, { pooled: 'yes', weight: 10 });
  }, 240_000);
});
