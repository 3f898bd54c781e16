import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/kv.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { connect, inventoryYaml, rollout, scratch, seed, valueOf, wipe, writeFile } from './cli.js';
import { expectExit } from '../support/explain.js';

let etcd: TestEtcd;
let kv: Kv;
let dir: string;
let remove: () => void;
let inventory: string;

const H = (n: number): string => `mw100${n}.eqiad.wmnet`;

beforeAll(async () => {
  etcd = await startEtcd();
  kv = await connect(etcd.endpoint);
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(etcd.endpoint, [
      { dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet', minPooled: '50%' },
      { dc: 'codfw', name: 'appserver', hosts: 'mw[2001-2002].codfw.wmnet' },
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
  await seed(kv, 'eqiad', 'appserver', {
    [H(1)]: { pooled: 'yes', weight: 10 },
    [H(2)]: { pooled: 'yes', weight: 10 },
    [H(3)]: { pooled: 'yes', weight: 10, rack: 'B4', tags: ['canary'] },
    [H(4)]: { pooled: 'inactive', weight: 10 },
  });
  await seed(kv, 'codfw', 'appserver', { 'mw2001.codfw.wmnet': { pooled: 'yes', weight: 10 } }); // mw2002: no key
});

const cli = (...args: string[]): ReturnType<typeof rollout> => rollout([...args, '-i', inventory], { cwd: dir });

interface Row {
  dc: string;
  cluster: string;
  service: string;
  host: string;
  pooled: string;
  weight: number | null;
  changedBy: string | null;
  reason: string | null;
  changedAt: string | null;
}

describe('status', { timeout: 120_000 }, () => {
  it('prints one JSON row per inventory host, with missing keys shown as missing', async () => {
    const r = await cli('status', '--json');
    expectExit(r, 0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((row) => [row.dc, row.cluster, row.service, row.host, row.pooled, row.weight])).toEqual([
      ['eqiad', 'appserver', 'php-fpm', H(1), 'yes', 10],
      ['eqiad', 'appserver', 'php-fpm', H(2), 'yes', 10],
      ['eqiad', 'appserver', 'php-fpm', H(3), 'yes', 10],
      ['eqiad', 'appserver', 'php-fpm', H(4), 'inactive', 10],
      ['codfw', 'appserver', 'php-fpm', 'mw2001.codfw.wmnet', 'yes', 10],
      ['codfw', 'appserver', 'php-fpm', 'mw2002.codfw.wmnet', 'missing', null],
    ]);
    expect(rows[0]).toMatchObject({ changedBy: null, reason: null, changedAt: null });
  });

  it('prints a table and the counts, limited to `status <cluster> <dc>`', async () => {
    const r = await cli('status', 'appserver', 'codfw');
    expectExit(r, 0);
    expect(r.stdout).toMatch(/^DC\s+CLUSTER\s+SERVICE\s+HOST\s+POOLED\s+WEIGHT/);
    expect(r.stdout).toMatch(/codfw\s+appserver\s+php-fpm\s+mw2002\.codfw\.wmnet\s+missing\s+-/);
    expect(r.stdout).not.toContain('eqiad');
    expect(r.stdout).toContain('2 hosts: 1 yes, 0 no, 0 inactive, 1 missing, 0 malformed');
  });
});

describe('positionals after an array option', { timeout: 120_000 }, () => {
  it('are not read as more --etcd endpoints: `status --etcd URL appserver codfw` shows that cluster only', async () => {
    const r = await rollout(['status', '--etcd', etcd.endpoint, 'appserver', 'codfw', '--json', '-i', inventory], {
      cwd: dir,
    });
    expectExit(r, 0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((row) => row.host)).toEqual(['mw2001.codfw.wmnet', 'mw2002.codfw.wmnet']);
  });
});

describe('pool and depool', { timeout: 120_000 }, () => {
  it('depools with a reason that status then shows with who did it', async () => {
    const r = await cli('depool', H(1), '--reason', 'disk replacement T1234');
    expectExit(r, 0);
    expect(r.stdout).toContain(`${H(1)}: yes → no`);
    expect(await valueOf(kv, 'eqiad', 'appserver', H(1))).toEqual({ pooled: 'no', weight: 10 });
    const table = await cli('status', 'appserver', 'eqiad');
    expect(table.stdout).toMatch(
      new RegExp(`${H(1).replace(/\./g, '\\.')}\\s+no\\s+10\\s+tester@\\S+ \\S+: depool: disk replacement T1234`),
    );
    const rows = JSON.parse((await cli('status', '--json')).stdout) as Row[];
    expect(rows.find((row) => row.host === H(1))).toMatchObject({
      pooled: 'no',
      changedBy: expect.stringMatching(/^tester@/),
      reason: 'depool: disk replacement T1234',
    });
  });

  it('refuses with exit 4 a depool below minPooled, changing nothing, and --force overrides', async () => {
    const before = await kv.revision();
    // 3 pooled of 4, 50% → 2 must stay pooled: two more depooled would leave 1.
    const refused = await cli('depool', H(1), H(2), '--reason', 'maintenance');
    expectExit(refused, 4);
    expect(refused.stderr).toContain('appserver@eqiad');
    expect(refused.stderr).toContain('2 must stay pooled');
    expect(refused.stderr).toContain('3 pooled');
    expect(refused.stderr).toContain('--force');
    expect(await kv.revision()).toBe(before);
    const forced = await cli('depool', H(1), H(2), '--reason', 'maintenance', '--force');
    expectExit(forced, 0);
    expect(await valueOf(kv, 'eqiad', 'appserver', H(1))).toMatchObject({ pooled: 'no' });
    expect(await valueOf(kv, 'eqiad', 'appserver', H(2))).toMatchObject({ pooled: 'no' });
  });

  it('exits 2 for a depool without --reason, changing nothing', async () => {
    const before = await kv.revision();
    const r = await cli('depool', H(1));
    expectExit(r, 2);
    expect(r.stderr).toContain('reason');
    const blank = await cli('depool', H(1), '--reason', '  ');
    expectExit(blank, 2);
    expect(blank.stderr).toContain('--reason');
    expect(await kv.revision()).toBe(before);
  });

  it('exits 2 for an unknown host, naming it, and changes no key (not even the known ones given with it)', async () => {
    const before = await kv.revision();
    const r = await cli('depool', H(1), 'mw9999.eqiad.wmnet', '--reason', 'x');
    expectExit(r, 2);
    expect(r.stderr).toContain('mw9999.eqiad.wmnet');
    expect(await kv.revision()).toBe(before);
  });

  it('creates a missing key with the inventory weight on pool', async () => {
    expect(await valueOf(kv, 'codfw', 'appserver', 'mw2002.codfw.wmnet')).toBeNull();
    const r = await cli('pool', 'mw2002.codfw.wmnet', '--reason', 'new host');
    expectExit(r, 0);
    expect(r.stdout).toContain('mw2002.codfw.wmnet: missing → yes');
    expect(await valueOf(kv, 'codfw', 'appserver', 'mw2002.codfw.wmnet')).toEqual({ pooled: 'yes', weight: 10 });
  });

  it('refuses to depool a host with no key, exit 2', async () => {
    const r = await cli('depool', 'mw2002.codfw.wmnet', '--reason', 'x', '--force');
    expectExit(r, 2);
    expect(r.stderr).toContain('rollout pool mw2002.codfw.wmnet');
    expect(await valueOf(kv, 'codfw', 'appserver', 'mw2002.codfw.wmnet')).toBeNull();
  });

  it('checks every host before writing any: a host with no key in the list leaves the others untouched', async () => {
    const before = await kv.revision();
    const r = await cli('depool', H(1), 'mw2002.codfw.wmnet', '--reason', 'x', '--force');
    expectExit(r, 2);
    expect(r.stderr).toContain('mw2002.codfw.wmnet: no pool key');
    expect(r.stderr).toContain('Nothing was changed');
    expect(await kv.revision()).toBe(before);
  });

  it('refuses to touch a host whose value is unreadable, and writes none of the others (exit 1)', async () => {
    await kv.put('/conftool/v1/pools/codfw/appserver/php-fpm/mw2002.codfw.wmnet', '{"pooled":"maybe"}');
    const before = await kv.revision();
    const r = await cli('pool', 'mw2001.codfw.wmnet', 'mw2002.codfw.wmnet', '--reason', 'x');
    expectExit(r, 1);
    expect(r.stderr).toContain('mw2002.codfw.wmnet: pool key holds an unreadable value');
    expect(r.stderr).toContain('E_POOL_VALUE');
    expect(await kv.revision()).toBe(before);
  });

  it('keeps fields it does not know across depool and pool', async () => {
    expectExit(await cli('depool', H(3), '--reason', 'x'), 0);
    expect(await valueOf(kv, 'eqiad', 'appserver', H(3))).toEqual({
      pooled: 'no',
      weight: 10,
      rack: 'B4',
      tags: ['canary'],
    });
    expectExit(await cli('pool', H(3), '--reason', 'back'), 0);
    expect(await valueOf(kv, 'eqiad', 'appserver', H(3))).toEqual({
      pooled: 'yes',
      weight: 10,
      rack: 'B4',
      tags: ['canary'],
    });
  });
});
