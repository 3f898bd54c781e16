// Every host of the sandbox in two pools (php-fpm and nginx) on poolApi v2, as a Wikimedia app
// server is: a whole sync under load, then a run during which conftool changes one key of a host.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { SandboxState } from '../../scripts/lib/sandbox.mjs';
import { createV2Client } from '../../src/kv/etcd-v2-client.js';
import { createV2PoolStore } from '../../src/pool/etcd-v2-store.js';
import { poolKeyId, type PoolKey, type PoolStore } from '../../src/pool/types.js';
import { etcdSettings } from '../support/etcd-settings.js';
import { expectExit } from '../support/explain.js';
import { CONFTOOL_SCRIPT } from '../support/conftool.js';
import { NETS } from '../support/nets.js';
import { events, exitOf, loadAll, rollout, spawnRollout, until } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

const SERVICES = ['php-fpm', 'nginx'];
const CONFTOOL = CONFTOOL_SCRIPT;
const run = promisify(execFile);

const fx = useSandbox(
  'services',
  {
    dcs: ['eqiad'],
    clusters: ['appserver'],
    hostsPerCluster: 4,
    net: NETS.servicesSandbox,
    sshBasePort: 2930,
    release: 'r1',
    poolApi: 'v2',
  },
  (doc) => {
    doc.deleteIn(['defaults', 'service']);
    doc.setIn(['defaults', 'services'], doc.createNode(SERVICES));
  },
);

type Host = SandboxState['hosts'][number];
const keysOf = (h: Host): PoolKey[] =>
  SERVICES.map((service) => ({ dc: h.dc, cluster: h.cluster, service, host: h.name }));

function store(): { pool: PoolStore; close(): void } {
  const client = createV2Client(etcdSettings(fx.sandbox.etcd.endpoint));
  return { pool: createV2PoolStore(fx.kv, client, '/conftool/v1/pools'), close: () => client.close() };
}

async function states(pool: PoolStore, hosts: readonly Host[]): Promise<Record<string, string>> {
  const snapshot = await pool.read(hosts.flatMap(keysOf));
  return Object.fromEntries(
    hosts.flatMap(keysOf).map((k) => {
      const e = snapshot.get(poolKeyId(k));
      return [
        `${k.host}/${k.service}`,
        e?.state === 'present' ? `${e.value.pooled}:${e.value.weight}` : (e?.state ?? '?'),
      ];
    }),
  );
}

describe('hosts in two pools on a real sandbox fleet (poolApi v2)', () => {
  it('creates the nginx keys with `rollout pool --service`, then a sync restarts every host with no failed request and both keys back to yes', async () => {
    const names = fx.sandbox.hosts.map((h) => h.name);
    const created = await rollout(
      ['pool', ...names, '--service', 'nginx', '--reason', 'e2e: second pool'],
      fx.inventory,
    );
    expectExit(created, 0);
    expect(created.stdout).toContain(`${names[0]}/nginx: missing → yes`);
    const { pool, close } = store();
    try {
      const load = loadAll(fx.sandbox);
      await new Promise((r) => setTimeout(r, 500));
      const result = await rollout(['sync', '--json', '--reason', 'e2e two pools'], fx.inventory, 240_000);
      const traffic = await load.stop();
      expectExit(result, 0);
      console.log(`two-pool sync under load: ${traffic.ok} served, ${traffic.failed} failed`);
      expect(traffic.failed, JSON.stringify(traffic.failures)).toBe(0);
      expect(traffic.ok).toBeGreaterThan(0);
      const evs = events(result.stdout);
      expect(evs.filter((e) => e['event'] === 'host.repooled')).toHaveLength(names.length);
      expect(evs.filter((e) => e['event'] === 'lb.confirmed')).toHaveLength(names.length);
      expect(Object.values(await states(pool, fx.sandbox.hosts)).every((s) => s === 'yes:10')).toBe(true);
    } finally {
      close();
    }
  }, 300_000);

  it('keeps the nginx key conftool changed while the host was depooled, and repools its php-fpm key and every other host', async () => {
    const slow = path.join(fx.work, 'slow-drain.yaml');
    const doc = parseDocument(fs.readFileSync(fx.inventory, 'utf8'));
    doc.setIn(['defaults', 'drain'], doc.createNode({ mode: 'fixed', seconds: 4 }));
    fs.writeFileSync(slow, doc.toString());
    const { pool, close } = store();
    try {
      const child = spawnRollout(['sync', '--json', '--reason', 'e2e two pools, conftool'], slow);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const depooled = await until(
        'a host depooled in both pools',
        async () => {
          const now = await states(pool, fx.sandbox.hosts);
          return fx.sandbox.hosts.find((h) => SERVICES.every((s) => now[`${h.name}/${s}`]?.startsWith('no:')));
        },
        60_000,
      );
      await run('/usr/bin/python3', [
        CONFTOOL,
        fx.sandbox.etcd.endpoint,
        'write',
        `/conftool/v1/pools/${depooled.dc}/${depooled.cluster}/nginx/${depooled.name}`,
        '{"weight": 5}',
      ]);
      expect(await exitOf(child)).toBe(0);
      const skipped = events(stdout).filter((e) => e['event'] === 'host.repool-skipped');
      expect(skipped.map((e) => e['host'])).toEqual([depooled.name]);
      expect(String(skipped[0]?.['reason'])).toMatch(/^nginx: changed by someone else/);
      const now = await states(pool, fx.sandbox.hosts);
      for (const [key, state] of Object.entries(now))
        expect(state, key).toBe(key === `${depooled.name}/nginx` ? 'no:5' : 'yes:10');
    } finally {
      close();
    }
  }, 300_000);
});
