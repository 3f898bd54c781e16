import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasStack, inventoryYaml, rollout, scratch, writeFile } from './cli.js';
import { expectExit } from '../support/explain.js';

// Input refused before etcd is contacted: the inventory points at a closed port, so contacting it would exit 5.
const CLOSED = 'http://127.0.0.1:1';
let dir: string;
let remove: () => void;
let inventory: string;

beforeAll(() => {
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(CLOSED, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1008].eqiad.wmnet' }]),
  );
});
afterAll(() => remove());

describe('numeric flags are checked before etcd is contacted', { timeout: 120_000 }, () => {
  const cases: [string, string][] = [
    ['--wait-lock', 'abc'],
    ['--capacity-wait', 'abc'],
    ['--ssh-concurrency', '0'],
    ['--parallel-clusters', '1.5'],
    ['--parallel-clusters', 'abc'],
    ['--max-concurrency', '-3'],
    ['--wait-lock', 'Infinity'],
  ];
  for (const [flag, value] of cases)
    it(`exits 2 naming ${flag} for "${value}"`, async () => {
      const r = await rollout(['sync', '--yes', '-i', inventory, flag, value], { cwd: dir });
      expectExit(r, 2);
      expect(r.stderr).toContain(`${flag}: expected`);
      expect(r.stderr).toContain(`got "${value}"`);
      expect(hasStack(r.stderr)).toBe(false);
    });

  it('exits 2 naming --grace for recover', async () => {
    const r = await rollout(['recover', '--yes', '-i', inventory, '--grace', '-1'], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain('--grace: expected');
  });
});

describe('report on a damaged log', { timeout: 60_000 }, () => {
  it('exits 2 naming the log file and line, without a stack trace, for clusters: null', async () => {
    const line = {
      event: 'run.started',
      time: '2026-11-24T10:00:00.000Z',
      runId: '20261124T100000Z-abcdef',
      command: 'sync',
      argv: [],
      user: 'u',
      machine: 'm',
      pid: 1,
      emergency: false,
      release: null,
      clusters: null,
    };
    const log = writeFile(dir, 'damaged.log', `${JSON.stringify(line)}\n`);
    const r = await rollout(['report', log, '-o', `${dir}/out.html`], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain(`${log}:1: not a rollout run log`);
    expect(r.stderr).toContain('"clusters"');
    expect(hasStack(r.stderr)).toBe(false);
  });
});

describe('etcd endpoints and inventory warnings', { timeout: 60_000 }, () => {
  it('exits 2 (not 5) naming --etcd for an endpoint that is not a URL', async () => {
    const r = await rollout(['plan', '-i', inventory, '--etcd', 'notaurl'], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain('--etcd: expected an endpoint URL');
    expect(r.stderr).toContain('"notaurl"');
  });

  it('warns on stderr when the etcd password would go over plain http://', async () => {
    const withAuth = writeFile(
      dir,
      'auth.yaml',
      inventoryYaml(CLOSED, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1008].eqiad.wmnet' }]).replace(
        '  dialTimeout: 3',
        '  dialTimeout: 1\n  username: rollout\n  passwordEnv: ETCD_PW',
      ),
    );
    const r = await rollout(['plan', '-i', withAuth], { cwd: dir, env: { ETCD_PW: 'secret' } });
    expectExit(r, 5);
    expect(r.stderr).toContain('rollout: warning: etcd.username is set and http://127.0.0.1:1 is plain http://');
    expect(r.stderr.match(/plain http:\/\//g)).toHaveLength(1);
    expect(r.stderr).not.toContain('secret');
  });

  it('shows inventory warnings on stderr instead of dropping them', async () => {
    const warned = writeFile(
      dir,
      'warned.yaml',
      inventoryYaml(CLOSED, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet', minPooled: '9' }]),
    );
    const r = await rollout(['plan', '--offline', '-i', warned], { cwd: dir });
    expect(r.stderr).toMatch(/rollout: warning: .*warned\.yaml:\d+:\d+: .*minPooled 9 is more than the 4 hosts/);
  });
});
