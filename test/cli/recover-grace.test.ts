import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/kv.js';
import { createJournal } from '../../src/coordination/journal.js';
import { poolKeyPath } from '../../src/pool/store.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { connect, inventoryYaml, PREFIX, poolKey, rollout, scratch, seed, valueOf, wipe, writeFile } from './cli.js';
import { expectExit } from '../support/explain.js';

// A run that died a moment ago (its last journal write is fresh): recover waits out --grace, or exits 75.
const HOST = 'mw1001.eqiad.wmnet';
let etcd: TestEtcd;
let kv: Kv;
let server: http.Server;
let dir: string;
let remove: () => void;
let inventory: string;

beforeAll(async () => {
  etcd = await startEtcd();
  kv = await connect(etcd.endpoint);
  server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(etcd.endpoint, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet' }], {
      healthUrl: `http://127.0.0.1:${port}/health/{host}`,
    }),
  );
});
afterAll(async () => {
  await kv?.close();
  await etcd?.stop();
  await new Promise((resolve) => server?.close(resolve));
  remove?.();
});

/** A run that depooled HOST and died just now, without a lock (its lease already expired). */
async function justDied(runId: string): Promise<void> {
  wipe(etcd.endpoint);
  const pooled = { pooled: 'yes', weight: 10 };
  await seed(kv, 'eqiad', 'appserver', Object.fromEntries([1, 2, 3, 4].map((n) => [`mw100${n}.eqiad.wmnet`, pooled])));
  const now = new Date().toISOString();
  const holder = {
    user: 'alice',
    machine: 'deploy1',
    pid: 4242,
    command: 'rollout sync',
    runId,
    startedAt: now,
    reason: 'x',
  };
  const journal = await createJournal(kv, {
    runId,
    holder,
    command: 'rollout sync',
    emergency: false,
    startedAt: now,
    lease: '0',
  });
  const key = poolKey('eqiad', 'appserver', HOST);
  const prior = await kv.get(poolKeyPath(PREFIX, key));
  const wroteRevision = await kv.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'no', weight: 10 }));
  await journal.record({
    key,
    prior: { pooled: 'yes', weight: 10 },
    priorRevision: prior?.modRevision ?? 0,
    phase: 'restart',
    wroteRevision,
    wroteValue: { pooled: 'no', weight: 10 },
    updatedAt: now,
  });
}

describe('rollout recover and a run inside its grace', { timeout: 120_000 }, () => {
  it('with --no-wait exits 75, says when to retry, never says there is nothing to recover, and changes nothing', async () => {
    await justDied('r-fresh-1');
    const r = await rollout(['recover', '--yes', '--no-wait', '--grace', '60', '-i', inventory], { cwd: dir });
    expectExit(r, 75);
    expect(r.stdout).not.toContain('nothing to recover');
    expect(r.stderr).toMatch(/retry `rollout recover` in \d+s/);
    expect(await valueOf(kv, 'eqiad', 'appserver', HOST)).toEqual({ pooled: 'no', weight: 10 });
  });

  it('by default waits out the grace with a countdown on stderr, then repools the host and exits 0', async () => {
    await justDied('r-fresh-2');
    const r = await rollout(['recover', '--yes', '--grace', '7', '-i', inventory], { cwd: dir });
    expectExit(r, 0);
    expect(r.stderr).toMatch(/waiting \d+s for its grace to pass/);
    expect(r.stderr).toMatch(/\ds left/);
    expect(r.stdout).not.toContain('nothing to recover');
    expect(r.stdout).toMatch(/mw1001\.eqiad\.wmnet.*repooled/);
    expect(await valueOf(kv, 'eqiad', 'appserver', HOST)).toEqual({ pooled: 'yes', weight: 10 });
  });
});
