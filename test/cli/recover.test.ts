import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/kv.js';
import { createJournal } from '../../src/coordination/journal.js';
import { poolKeyPath } from '../../src/pool/store.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { connect, inventoryYaml, PREFIX, poolKey, rollout, scratch, seed, valueOf, writeFile } from './cli.js';
import { expectExit } from '../support/explain.js';

// `rollout recover --yes` end to end: a dead run's journal in etcd, health over HTTP on loopback.
const H = (n: number): string => `mw100${n}.eqiad.wmnet`;
const SICK = H(2);
let sickIsDown = true;
let etcd: TestEtcd;
let kv: Kv;
let server: http.Server;
let dir: string;
let remove: () => void;
let inventory: string;

beforeAll(async () => {
  etcd = await startEtcd();
  kv = await connect(etcd.endpoint);
  server = http.createServer((req, res) => {
    res.statusCode = sickIsDown && req.url?.includes(SICK) ? 503 : 200;
    res.end(res.statusCode === 200 ? 'ok' : 'down');
  });
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

/** A run that depooled `hosts` (journaled with the revision it wrote) and died without finishing (or finished, leaving them). */
async function deadRun(runId: string, hosts: readonly string[], finished = false): Promise<void> {
  const holder = {
    user: 'alice',
    machine: 'deploy1',
    pid: 4242,
    command: 'rollout sync',
    runId,
    startedAt: '2026-11-24T19:00:00.000Z',
    reason: 'deploy',
  };
  const journal = await createJournal(kv, {
    runId,
    holder,
    command: 'rollout sync',
    emergency: false,
    startedAt: holder.startedAt,
    lease: '0',
  });
  for (const host of hosts) {
    const key = poolKey('eqiad', 'appserver', host);
    const prior = await kv.get(poolKeyPath(PREFIX, key));
    const wroteRevision = await kv.put(
      poolKeyPath(PREFIX, key),
      JSON.stringify({ pooled: 'no', weight: 10, rack: 'B4' }),
    );
    await journal.record({
      key,
      prior: JSON.parse(prior?.value ?? 'null') as { pooled: 'yes'; weight: number },
      priorRevision: prior?.modRevision ?? 0,
      phase: 'health',
      wroteRevision,
      wroteValue: { pooled: 'no', weight: 10, rack: 'B4' },
      updatedAt: holder.startedAt,
    });
  }
  if (finished) await journal.finish('finished-with-depooled-hosts');
}

describe('rollout recover --yes', { timeout: 120_000 }, () => {
  it('repools the healthy hosts a dead run left depooled, leaves the sick one, exits 1, retries it later, then has nothing left to recover', async () => {
    const pooled = { pooled: 'yes', weight: 10, rack: 'B4' };
    await seed(kv, 'eqiad', 'appserver', { [H(1)]: pooled, [H(2)]: pooled, [H(3)]: pooled, [H(4)]: pooled });
    await deadRun('r-dead', [H(1), SICK]);

    const first = await rollout(['recover', '--yes', '-i', inventory], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(new RegExp(`${H(1).replace(/\./g, '\\.')}.*: repooled — healthy \\(HTTP 200\\)`));
    expect(first.stdout).toMatch(
      new RegExp(`${SICK.replace(/\./g, '\\.')}.*: unhealthy — health check failed \\(HTTP 503`),
    );
    expectExit(first, 1);
    expect(await valueOf(kv, 'eqiad', 'appserver', H(1))).toEqual({ pooled: 'yes', weight: 10, rack: 'B4' });
    expect(await valueOf(kv, 'eqiad', 'appserver', SICK)).toEqual({ pooled: 'no', weight: 10, rack: 'B4' });

    const status = JSON.parse((await rollout(['status', '--json', '-i', inventory], { cwd: dir })).stdout) as {
      host: string;
      reason: string | null;
    }[];
    expect(status.find((r) => r.host === SICK)?.reason).toContain('run died');

    const modRevision = async (host: string): Promise<number | undefined> =>
      (await kv.get(poolKeyPath(PREFIX, poolKey('eqiad', 'appserver', host))))?.modRevision;
    const before = [await modRevision(H(1)), await modRevision(SICK)];
    const second = await rollout(['recover', '--yes', '--json', '-i', inventory], { cwd: dir });
    const outcomes = JSON.parse(second.stdout) as { host: string; action: string }[];
    expect(outcomes.map((o) => [o.host, o.action])).toEqual([[SICK, 'unhealthy']]);
    expectExit(second, 1);
    expect([await modRevision(H(1)), await modRevision(SICK)]).toEqual(before);

    sickIsDown = false;
    const third = await rollout(['recover', '--yes', '-i', inventory], { cwd: dir });
    expectExit(third, 0);
    expect(await valueOf(kv, 'eqiad', 'appserver', SICK)).toEqual({ pooled: 'yes', weight: 10, rack: 'B4' });
    const fourth = await rollout(['recover', '--yes', '-i', inventory], { cwd: dir });
    expectExit(fourth, 0);
    expect(fourth.stdout).toContain('nothing to recover');
  });

  it('acts on a finished run that left a host depooled (a failed repool), prints each host once, then deletes its journal', async () => {
    sickIsDown = false;
    const pooled = { pooled: 'yes', weight: 10, rack: 'B4' };
    await seed(kv, 'eqiad', 'appserver', { [H(1)]: pooled, [H(2)]: pooled, [H(3)]: pooled, [H(4)]: pooled });
    await deadRun('r-finished', [H(3)], true);
    const r = await rollout(['recover', '--yes', '-i', inventory], { cwd: dir });
    expectExit(r, 0);
    expect(r.stdout).toContain(
      'run r-finished (rollout sync, alice@deploy1, started 2026-11-24T19:00:00.000Z) finished and left:',
    );
    expect(r.stdout.split('\n').filter((l) => l.includes(H(3)))).toHaveLength(1);
    expect(await valueOf(kv, 'eqiad', 'appserver', H(3))).toEqual(pooled);
    expect(await kv.list('/rollout/v1/runs/r-finished/')).toEqual([]);
  });
});
