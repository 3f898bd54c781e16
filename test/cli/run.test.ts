import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { realSleep } from '../../src/deps.js';
import type { Kv } from '../../src/kv/kv.js';
import { createJournal } from '../../src/coordination/journal.js';
import { acquireLocks } from '../../src/coordination/lock.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { connect, hasStack, inventoryYaml, poolKey, rollout, scratch, seed, valueOf, wipe, writeFile } from './cli.js';
import { expectExit } from '../support/explain.js';

let etcd: TestEtcd;
let kv: Kv;
let dir: string;
let remove: () => void;
let inventory: string;

const H = (n: number): string => `mw100${n}.eqiad.wmnet`;
const G = (n: number): string => `mw200${n}.codfw.wmnet`;

beforeAll(async () => {
  etcd = await startEtcd();
  kv = await connect(etcd.endpoint);
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(etcd.endpoint, [
      { dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet', minPooled: '50%' },
      { dc: 'codfw', name: 'appserver', hosts: 'mw[2001-2004].codfw.wmnet', minPooled: '100%' },
    ]),
  );
});
afterAll(async () => {
  await kv?.close();
  await etcd?.stop();
  remove?.();
});
beforeEach(async () => {
  wipe(etcd.endpoint);
  const pooled = { pooled: 'yes', weight: 10 };
  await seed(kv, 'eqiad', 'appserver', {
    [H(1)]: pooled,
    [H(2)]: pooled,
    [H(3)]: pooled,
    [H(4)]: { pooled: 'inactive', weight: 10 },
  });
  await seed(kv, 'codfw', 'appserver', { [G(1)]: pooled, [G(2)]: pooled, [G(3)]: pooled, [G(4)]: pooled });
});

const cli = (...args: string[]): ReturnType<typeof rollout> => rollout([...args, '-i', inventory], { cwd: dir });

describe('plan against live etcd', { timeout: 120_000 }, () => {
  it('skips an inactive host and plans the others', async () => {
    const r = await cli('plan', 'appserver', 'eqiad');
    expectExit(r, 0);
    expect(r.stdout).toMatch(new RegExp(`skipped ${H(4).replace(/\./g, '\\.')}: inactive`));
    expect(r.stdout).toContain(`1. ${H(1)}`);
    const json = JSON.parse((await cli('plan', 'appserver', 'eqiad', '--json')).stdout) as {
      clusters: { batches: { hosts: string[] }[]; skipped: { host: string }[] }[];
    };
    const hosts = json.clusters[0]?.batches.flatMap((b) => b.hosts);
    expect(hosts).toEqual([H(1), H(2), H(3)]);
    expect(JSON.stringify(json.clusters[0]?.skipped)).toContain(H(4));
  });

  it('exits 4 with the numbers when minPooled 100% leaves nothing to depool', async () => {
    const r = await cli('plan', 'appserver', 'codfw');
    expectExit(r, 4);
    expect(r.stdout).toContain('BLOCKED');
    expect(r.stdout).toContain('4 of 4 hosts of appserver@codfw must stay pooled (min 100%) and 4 are pooled');
  });

  it('exits 4 when hosts depooled by others leave no room, counting them', async () => {
    await seed(kv, 'eqiad', 'appserver', { [H(2)]: { pooled: 'no', weight: 10 } });
    const r = await cli('plan', '--dc', 'eqiad');
    expectExit(r, 4);
    expect(r.stdout).toContain('2 of 3 hosts of appserver@eqiad must stay pooled (min 50%) and 2 are pooled');
  });
});

describe('sync and restart', { timeout: 120_000 }, () => {
  it('refuses --emergency without --yes when there is no terminal to ask on, writing nothing (exit 2)', async () => {
    const before = await kv.revision();
    const r = await cli('sync', '--emergency', '--dc', 'eqiad');
    expectExit(r, 2);
    expect(r.stderr).toContain('--yes');
    expect(r.stderr).toContain('E_USAGE');
    expect(await kv.revision()).toBe(before);
  });

  it('refuses --release when the HTTP health check cannot read a release, writing nothing (exit 2)', async () => {
    const before = await kv.revision();
    const r = await cli('sync', '--dc', 'eqiad', '--release', 'r2');
    expectExit(r, 2);
    expect(r.stderr).toContain(
      `the HTTP health check of ${H(1)}, ${H(2)}, ${H(3)} cannot tell which release a host serves`,
    );
    expect(r.stderr).toMatch(
      /set health\.releaseHeader or health\.releaseField for it, e\.g\. at .*inventory\.yaml:\d+/,
    );
    expect(await kv.revision()).toBe(before);
  });

  it('prints the plan and writes nothing with --dry-run', async () => {
    const before = await kv.revision();
    const r = await cli('sync', '--dry-run', '--dc', 'eqiad');
    expectExit(r, 0);
    expect(r.stdout).toContain('appserver@eqiad');
    expect(r.stdout).toContain(`1. ${H(1)}`);
    const json = await cli('restart', 'appserver', 'eqiad', '--dry-run', '--json');
    expectExit(json, 0);
    expect((JSON.parse(json.stdout) as { clusters: unknown[] }).clusters).toHaveLength(1);
    expect(await kv.revision()).toBe(before);
  });

  it('exits 4 before taking any lock when the capacity guard blocks a cluster', async () => {
    const before = await kv.revision();
    const r = await cli('restart', 'appserver', 'codfw');
    expectExit(r, 4);
    expect(r.stderr).toContain('appserver@codfw');
    expect(r.stderr).toContain('Nothing was changed');
    expect(await kv.revision()).toBe(before);
  });

  it('exits 3 naming the holder when another run holds the cluster lock, and touches no pool key', async () => {
    const holder = {
      user: 'alice',
      machine: 'deploy1',
      pid: 4242,
      command: 'rollout sync',
      runId: 'r-other',
      startedAt: new Date().toISOString(),
      reason: 'deploying 1.46.0-wmf.3',
    };
    const locks = await acquireLocks(kv, [{ dc: 'eqiad', cluster: 'appserver' }], holder, {
      sleep: realSleep,
      now: () => Date.now(),
      ttlSeconds: 30,
    });
    try {
      const r = await cli('sync', '--dc', 'eqiad');
      expectExit(r, 3);
      expect(r.stderr).toContain('appserver@eqiad is locked by alice@deploy1 pid 4242');
      expect(r.stderr).toContain('r-other');
      expect(r.stderr).toContain('--wait-lock');
      expect(hasStack(r.stderr)).toBe(false);
      expect(await valueOf(kv, 'eqiad', 'appserver', H(1))).toEqual({ pooled: 'yes', weight: 10 });
      const status = await cli('status');
      expect(status.stdout).toContain('lock appserver@eqiad: alice@deploy1 pid 4242 (rollout sync, run r-other');
    } finally {
      await locks.release();
    }
  });
});

describe('recover', { timeout: 120_000 }, () => {
  it('exits 0 with "nothing to recover" when no run died', async () => {
    const r = await cli('recover');
    expectExit(r, 0);
    expect(r.stdout).toContain('nothing to recover');
    const json = await cli('recover', '--json');
    expect(json.stdout.trim()).toBe('[]');
  });

  it('without --yes and without a terminal, shows what a dead run left and changes nothing', async () => {
    const holder = {
      user: 'alice',
      machine: 'deploy1',
      pid: 4242,
      command: 'rollout sync',
      runId: 'r-dead',
      startedAt: '2026-11-24T19:00:00.000Z',
      reason: 'deploy',
    };
    const journal = await createJournal(kv, {
      runId: 'r-dead',
      holder,
      command: 'rollout sync',
      emergency: false,
      startedAt: holder.startedAt,
      lease: '0',
    });
    const key = poolKey('eqiad', 'appserver', H(1));
    const prior = await valueOf(kv, 'eqiad', 'appserver', H(1));
    await seed(kv, 'eqiad', 'appserver', { [H(1)]: { pooled: 'no', weight: 10 } });
    const written = await kv.get(`/conftool/v1/pools/eqiad/appserver/php-fpm/${H(1)}`);
    await journal.record({
      key,
      prior: prior as { pooled: 'yes'; weight: number },
      priorRevision: 1,
      phase: 'restart',
      wroteRevision: written?.modRevision ?? 0,
      wroteValue: { pooled: 'no', weight: 10 },
      updatedAt: holder.startedAt,
    });
    const before = await kv.revision();
    const r = await cli('recover');
    expectExit(r, 0);
    expect(r.stdout).toContain('run r-dead (rollout sync, alice@deploy1');
    expect(r.stdout).toMatch(new RegExp(`${H(1).replace(/\./g, '\\.')}.*would-repool`));
    expect(r.stdout).toContain('rollout recover --yes');
    expect(await kv.revision()).toBe(before);
    const status = await cli('status', 'appserver', 'eqiad');
    expect(status.stdout).toContain('unfinished run r-dead');
  });
});
