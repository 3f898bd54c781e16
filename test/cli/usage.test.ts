import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasStack, inventoryYaml, rollout, scratch, writeFile } from './cli.js';
import { expectExit } from '../support/explain.js';

// Everything here fails before etcd is needed (or is pointed at a closed port).
const CLOSED = 'http://127.0.0.1:1';
let dir: string;
let remove: () => void;
let inventory: string;

beforeAll(() => {
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(CLOSED, [
      { dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1008].eqiad.wmnet' },
      { dc: 'eqiad', name: 'api', hosts: 'mw[1101-1104].eqiad.wmnet' },
      { dc: 'codfw', name: 'appserver', hosts: 'mw[2001-2004].codfw.wmnet' },
    ]),
  );
});
afterAll(() => remove());

describe('usage errors', { timeout: 120_000 }, () => {
  it('prints help and exits 0 with --help', async () => {
    const r = await rollout(['--help']);
    expectExit(r, 0);
    for (const command of [
      'sync',
      'restart <cluster> <dc>',
      'plan [cluster] [dc]',
      'status',
      'depool',
      'pool',
      'recover',
      'lb-agent',
    ])
      expect(r.stdout).toContain(command);
  });

  it('exits 2 naming an unknown command', async () => {
    const r = await rollout(['frobnicate']);
    expectExit(r, 2);
    expect(r.stderr).toContain('frobnicate');
    expect(r.stderr).toContain('rollout --help');
  });

  it('exits 2 naming an unknown option', async () => {
    const r = await rollout(['plan', '-i', inventory, '--offline', '--frobnicate']);
    expectExit(r, 2);
    expect(r.stderr).toMatch(/Unknown argument: frobnicate/i);
    expect(r.stdout).toBe('');
  });

  it('exits 2 without a command', async () => {
    const r = await rollout([]);
    expectExit(r, 2);
    expect(r.stderr).toContain('name a command');
  });

  it('exits 2 naming the path of a missing inventory', async () => {
    const r = await rollout(['plan', '--offline', '-i', 'no/such/inventory.yaml'], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain(path.join(dir, 'no/such/inventory.yaml'));
    expect(r.stderr).toContain('E_INVENTORY');
  });

  it('reads the inventory named by ROLLOUT_INVENTORY when there is no -i', async () => {
    const r = await rollout(['plan', '--offline', 'api', 'eqiad'], {
      cwd: dir,
      env: { ROLLOUT_INVENTORY: 'inventory.yaml' },
    });
    expectExit(r, 0);
    expect(r.stdout).toContain('mw1101.eqiad.wmnet');
  });

  it('reports every error of an inventory with file:line, and exits 2', async () => {
    const bad = writeFile(
      dir,
      'bad.yaml',
      [
        'etcd:',
        `  endpoints: [${CLOSED}]`,
        'defaults:',
        '  weight: heavy',
        '  batch: { size: ten }',
        'datacenters:',
        '  eqiad:',
        '    clusters:',
        '      appserver:',
        '        hosts: ["mw[1001-1004].eqiad.wmnet"]',
        '        frobnicate: 3',
        '',
      ].join('\n'),
    );
    const r = await rollout(['plan', '--offline', '-i', bad]);
    expectExit(r, 2);
    expect(r.stderr).toContain(`3 errors in ${bad}`);
    expect(r.stderr).toContain(`${bad}:4:`);
    expect(r.stderr).toContain('defaults.weight');
    expect(r.stderr).toContain(`${bad}:5:`);
    expect(r.stderr).toContain('defaults.batch.size');
    expect(r.stderr).toContain(`${bad}:11:`);
    expect(r.stderr).toContain('frobnicate');
    expect(hasStack(r.stderr)).toBe(false);
  });

  it('exits 2 listing the valid datacenters for an unknown --dc', async () => {
    const r = await rollout(['plan', '--offline', '-i', inventory, '--dc', 'esams']);
    expectExit(r, 2);
    expect(r.stderr).toContain('esams');
    expect(r.stderr).toMatch(/eqiad, codfw/);
  });

  it('exits 2 listing the valid clusters for an unknown --cluster', async () => {
    const r = await rollout(['plan', '--offline', '-i', inventory, '--cluster', 'jobrunner']);
    expectExit(r, 2);
    expect(r.stderr).toContain('jobrunner');
    expect(r.stderr).toMatch(/appserver, api/);
  });

  it('exits 2 for `restart nosuch eqiad` before touching etcd', async () => {
    const r = await rollout(['restart', 'nosuch', 'eqiad', '-i', inventory]);
    expectExit(r, 2);
    expect(r.stderr).toContain('"nosuch"');
    expect(r.stderr).toContain('appserver');
    expect(r.stderr).not.toContain('etcd');
  });
});

describe('plan --offline', { timeout: 120_000 }, () => {
  it('prints one JSON document with every batch as a list of host names', async () => {
    const r = await rollout(['plan', '--offline', '--json', '-i', inventory]);
    expectExit(r, 0);
    const plan = JSON.parse(r.stdout) as {
      clusters: { dc: string; cluster: string; batches: { hosts: unknown[] }[] }[];
    };
    expect(plan.clusters.map((c) => `${c.cluster}@${c.dc}`)).toEqual([
      'appserver@eqiad',
      'api@eqiad',
      'appserver@codfw',
    ]);
    for (const cluster of plan.clusters) {
      expect(cluster.batches.length).toBeGreaterThan(0);
      for (const batch of cluster.batches) for (const host of batch.hosts) expect(typeof host).toBe('string');
    }
    // 25% of 8 → 2 per batch
    expect(plan.clusters[0]?.batches[0]?.hosts).toEqual(['mw1001.eqiad.wmnet', 'mw1002.eqiad.wmnet']);
  });

  it('selects one cluster in one datacenter with `plan <cluster> <dc>`', async () => {
    const r = await rollout(['plan', 'appserver', 'codfw', '--offline', '--json', '-i', inventory]);
    expectExit(r, 0);
    const plan = JSON.parse(r.stdout) as { clusters: { dc: string; cluster: string }[] };
    expect(plan.clusters.map((c) => `${c.cluster}@${c.dc}`)).toEqual(['appserver@codfw']);
  });

  it('reads `plan --dc eqiad appserver` as the cluster positional, not as a second datacenter', async () => {
    const r = await rollout(['plan', '--dc', 'eqiad', 'appserver', '--offline', '--json', '-i', inventory]);
    expectExit(r, 0);
    const plan = JSON.parse(r.stdout) as { clusters: { dc: string; cluster: string }[] };
    expect(plan.clusters.map((c) => `${c.cluster}@${c.dc}`)).toEqual(['appserver@eqiad']);
  });

  it('takes several datacenters repeated or comma-separated', async () => {
    for (const args of [
      ['--dc', 'eqiad', '--dc', 'codfw'],
      ['--dc', 'eqiad,codfw'],
    ]) {
      const r = await rollout(['plan', ...args, '--cluster', 'appserver', '--offline', '--json', '-i', inventory]);
      const plan = JSON.parse(r.stdout) as { clusters: { dc: string; cluster: string }[] };
      expect(plan.clusters.map((c) => `${c.cluster}@${c.dc}`)).toEqual(['appserver@eqiad', 'appserver@codfw']);
    }
  });

  it('takes --batch-size over the inventory', async () => {
    const r = await rollout([
      'plan',
      'appserver',
      'eqiad',
      '--offline',
      '--json',
      '--batch-size',
      '4',
      '-i',
      inventory,
    ]);
    expectExit(r, 0);
    const plan = JSON.parse(r.stdout) as { clusters: { batches: { hosts: string[] }[] }[] };
    expect(plan.clusters[0]?.batches.map((b) => b.hosts.length)).toEqual([4, 4]);
  });

  it('takes --batch-mode over the inventory, and refuses anything but window or barrier with exit 2', async () => {
    const plan = async (mode: string) =>
      rollout(['plan', 'appserver', 'eqiad', '--offline', '--json', '--batch-mode', mode, '-i', inventory]);
    const barrier = await plan('barrier');
    expectExit(barrier, 0);
    expect(JSON.parse(barrier.stdout)).toMatchObject({ clusters: [{ mode: 'barrier' }] });
    const window = await plan('window');
    expect(JSON.parse(window.stdout)).toMatchObject({ clusters: [{ mode: 'window', window: { widths: [2] } }] });
    const bad = await plan('sliding');
    expectExit(bad, 2);
    expect(bad.stderr).toMatch(/batch-mode.*sliding|sliding.*batch-mode/);
  });
});

describe('etcd unreachable', { timeout: 120_000 }, () => {
  it('exits 5 naming the endpoint, without a stack trace', async () => {
    const r = await rollout(['status', '-i', inventory], { timeoutMs: 60_000 });
    expect(r.signal).toBeNull();
    expectExit(r, 5);
    expect(r.stderr).toContain(CLOSED);
    expect(r.stderr).toContain('E_ETCD_UNREACHABLE');
    expect(hasStack(r.stderr)).toBe(false);
  });

  it('exits 5 for plan and depool too, and names the --etcd endpoint that overrides the inventory', async () => {
    const plan = await rollout(['plan', '-i', inventory]);
    expectExit(plan, 5);
    const depool = await rollout([
      'depool',
      'mw1001.eqiad.wmnet',
      '--reason',
      'x',
      '-i',
      inventory,
      '--etcd',
      'http://127.0.0.1:2',
    ]);
    expectExit(depool, 5);
    expect(depool.stderr).toContain('http://127.0.0.1:2');
    expect(hasStack(depool.stderr)).toBe(false);
  });
});
