import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRolloutError, type RolloutError } from '../../../src/errors.js';
import { DEFAULT_INVENTORY_PATH, loadInventory, resolveInventoryPath } from '../../../src/inventory/load.js';
import { allClusters, allHosts } from '../../../src/inventory/types.js';
import { validateInventoryText } from '../../../src/inventory/validate.js';

const root = path.resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'rollout-inventory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function thrown(fn: () => unknown): RolloutError {
  try {
    fn();
  } catch (error) {
    if (isRolloutError(error, 'E_INVENTORY')) return error;
    throw error;
  }
  throw new Error('expected E_INVENTORY, nothing was thrown');
}

describe('loadInventory', () => {
  it('loads inventory/example.yaml', () => {
    const warnings: string[] = [];
    const inv = loadInventory(path.join(root, 'inventory/example.yaml'), {
      home: '/home/op',
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings).toEqual([]);
    expect(inv.datacenters.map((d) => d.name)).toEqual(['eqiad', 'codfw']);
    expect(allClusters(inv).map((c) => `${c.dc}/${c.name}`)).toEqual([
      'eqiad/appserver',
      'eqiad/api_appserver',
      'eqiad/jobrunner',
      'codfw/appserver',
      'codfw/api_appserver',
      'codfw/jobrunner',
    ]);
    expect(allHosts(inv).length).toBe(27 + 13 + 6 + 20 + 12 + 5);
    const mw1113 = allHosts(inv).find((h) => h.name === 'mw1113.eqiad.wmnet');
    expect(mw1113).toMatchObject({
      address: '10.64.0.113',
      settings: {
        ssh: { port: 2222, identityFile: '/home/op/.ssh/rollout_ed25519', knownHosts: '/home/op/.ssh/known_hosts' },
      },
    });
    expect(inv.file).toBe(path.join(root, 'inventory/example.yaml'));
  });

  it('loads the inventory the sandbox writes', async () => {
    const layoutPath = path.join(root, 'scripts/lib/sandbox/layout.mjs');
    const layout = (await import(layoutPath)) as {
      planFleet: (o?: object) => { hosts: { name: string; address: string; sshPort: number }[] };
      inventoryYaml: (fleet: unknown, dir: string, endpoints: string[]) => string;
    };
    const fleet = layout.planFleet({});
    const file = write(
      'sandbox.yaml',
      layout.inventoryYaml(fleet, '/tmp/sb', ['http://127.0.0.2:2379', 'http://127.0.0.3:2379']),
    );
    const inv = loadInventory(file);
    expect(allHosts(inv).map((h) => [h.name, h.address, h.settings.ssh.port])).toEqual(
      fleet.hosts.map((h) => [h.name, h.address, h.sshPort]),
    );
    expect(inv.etcd.endpoints).toEqual(['http://127.0.0.2:2379', 'http://127.0.0.3:2379']);
    expect(allHosts(inv)[0]?.settings).toMatchObject({
      ssh: { user: 'root', knownHosts: '/tmp/sb/ssh/known_hosts' },
      drain: { mode: 'status' },
      lb: { propagationSeconds: 1 },
    });
  });

  it('throws E_INVENTORY with every error in details', () => {
    const file = write(
      'bad.yaml',
      'run: { sshConcurrency: 0 }\ndatacenters:\n  eqiad:\n    clusters:\n      a: { hosts: ["mw[2-1]"], weight: x }\n',
    );
    const e = thrown(() => loadInventory(file));
    expect(e.message).toBe(`3 errors in ${file}`);
    expect(e.where).toBe(file);
    expect(e.details).toHaveLength(3);
    expect(e.details.every((d) => d.startsWith(`${file}:`))).toBe(true);
    expect(e.exitCode).toBe(2);
  });

  it('names the file and the error when there is one', () => {
    const file = write('one.yaml', 'datacenters: {}\n');
    expect(thrown(() => loadInventory(file)).message).toBe(
      `1 error in ${file}: ${file}:1:14: datacenters: expected at least one datacenter, got an empty mapping`,
    );
  });

  it('refuses a missing, an empty and an unreadable file, naming the path', () => {
    const missing = path.join(dir, 'nope.yaml');
    expect(thrown(() => loadInventory(missing)).message).toBe(
      `inventory ${missing} not found; pass -i FILE or set ROLLOUT_INVENTORY`,
    );
    const empty = write('empty.yaml', '  \n');
    expect(thrown(() => loadInventory(empty)).message).toContain(`inventory ${empty} is empty`);
    const folder = path.join(dir, 'folder.yaml');
    mkdirSync(folder);
    expect(thrown(() => loadInventory(folder)).message).toBe(
      `inventory ${folder} is a directory; pass -i FILE or set ROLLOUT_INVENTORY`,
    );
  });

  it('expands ~ in every path setting', () => {
    const file = write(
      'tilde.yaml',
      'etcd: { ca: ~/ca.pem, cert: ~/c.pem, key: ~/k.pem }\ndefaults: { ssh: { identityFile: ~/id } }\ndatacenters: { e: { clusters: { a: { hosts: [x1] } } } }\n',
    );
    const inv = loadInventory(file, { home: '/home/op' });
    expect(inv.etcd).toMatchObject({ ca: '/home/op/ca.pem', cert: '/home/op/c.pem', key: '/home/op/k.pem' });
    expect(allHosts(inv)[0]?.settings.ssh).toMatchObject({
      identityFile: '/home/op/id',
      knownHosts: '/home/op/.ssh/known_hosts',
    });
    expect(allHosts(inv)[0]?.source.file).toBe(file);
  });

  it('passes warnings to onWarning', () => {
    const file = write('warn.yaml', 'datacenters: { e: { clusters: { a: { minPooled: 5, hosts: [x1] } } } }\n');
    const warnings: string[] = [];
    loadInventory(file, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
  });
});

describe('resolveInventoryPath', () => {
  const env = { HOME: '/home/op' };

  it('prefers the -i flag, then ROLLOUT_INVENTORY, then /etc/rollout/inventory.yaml', () => {
    expect(resolveInventoryPath({ flag: 'a.yaml', env: { ...env, ROLLOUT_INVENTORY: '/b.yaml' }, cwd: '/work' })).toBe(
      '/work/a.yaml',
    );
    expect(resolveInventoryPath({ env: { ...env, ROLLOUT_INVENTORY: '/b.yaml' }, cwd: '/work' })).toBe('/b.yaml');
    expect(resolveInventoryPath({ env, cwd: '/work' })).toBe(DEFAULT_INVENTORY_PATH);
    expect(DEFAULT_INVENTORY_PATH).toBe('/etc/rollout/inventory.yaml');
  });

  it('ignores an empty ROLLOUT_INVENTORY and expands ~', () => {
    expect(resolveInventoryPath({ env: { ...env, ROLLOUT_INVENTORY: '' }, cwd: '/work' })).toBe(DEFAULT_INVENTORY_PATH);
    expect(resolveInventoryPath({ flag: '~/inv.yaml', env, cwd: '/work' })).toBe('/home/op/inv.yaml');
  });
});

describe('inventory/example.yaml', () => {
  it('validates without errors or warnings', () => {
    const text = readFileSync(path.join(root, 'inventory/example.yaml'), 'utf8');
    const r = validateInventoryText(text, 'example.yaml');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
  });
});
