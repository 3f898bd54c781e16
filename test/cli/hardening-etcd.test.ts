import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/kv.js';
import { listLocks } from '../../src/coordination/lock.js';
import { listRuns } from '../../src/coordination/journal.js';
import { syncCommand, type SyncArgs } from '../../src/commands/sync.js';
import type { Io } from '../../src/cli/io.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { poolKeyPath } from '../../src/pool/store.js';
import { expectExit } from '../support/explain.js';
import { connect, inventoryYaml, poolKey, PREFIX, rollout, scratch, seed, wipe, writeFile } from './cli.js';

// syncCommand in process against a real etcd, with numbers the CLI would refuse: a throw after the
// locks are taken must still release them and close the journal.
let etcd: TestEtcd;
let kv: Kv;
let dir: string;
let remove: () => void;
let inventory: string;

const sink = (): Writable & { text: string } => {
  const out = Object.assign(new Writable({ write: (chunk, _enc, done) => ((out.text += String(chunk)), done()) }), {
    text: '',
  });
  return out;
};

beforeAll(async () => {
  etcd = await startEtcd();
  kv = await connect(etcd.endpoint);
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(etcd.endpoint, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet' }]),
  );
});
afterAll(async () => {
  await kv?.close();
  await etcd?.stop();
  remove?.();
});

async function syncWith(extra: Partial<SyncArgs>): Promise<unknown> {
  wipe(etcd.endpoint);
  const pooled = { pooled: 'yes', weight: 10 };
  await seed(kv, 'eqiad', 'appserver', Object.fromEntries([1, 2, 3, 4].map((n) => [`mw100${n}.eqiad.wmnet`, pooled])));
  const io: Io = {
    stdout: sink(),
    stderr: sink(),
    env: { HOME: dir, XDG_STATE_HOME: `${dir}/state`, USER: 'tester', PATH: process.env['PATH'] },
    cwd: dir,
    argv: ['sync', '--yes'],
    stop: new AbortController().signal,
    confirm: null,
  };
  const args: SyncArgs = { kind: 'sync', dcs: [], clusters: [], yes: true, inventory, ...extra };
  return syncCommand(args, io).then(
    () => new Error('expected the run to throw'),
    (error: unknown) => error,
  );
}

describe('a throw after the locks are taken', { timeout: 60_000 }, () => {
  it('releases the locks when the SSH pool cannot be built', async () => {
    const error = await syncWith({ 'ssh-concurrency': 0 });
    expect(String(error)).not.toContain('expected the run to throw');
    expect(await listLocks(kv)).toEqual([]);
    expect((await listRuns(kv)).filter((r) => r.meta?.finishedAt === undefined)).toEqual([]);
  });

  it('releases the locks and closes the journal when the run itself throws', async () => {
    const error = await syncWith({ 'parallel-clusters': 1.5 });
    expect(String(error)).not.toContain('expected the run to throw');
    expect(await listLocks(kv)).toEqual([]);
    const runs = await listRuns(kv);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.meta?.outcome).toMatch(/^error: /);
    expect(runs[0]?.dead).toBe(false);
  });
});

describe('templates refused before the first write', { timeout: 120_000 }, () => {
  const revisions = async (): Promise<(number | undefined)[]> =>
    Promise.all(
      [1, 2, 3, 4].map(
        async (n) =>
          (await kv.get(poolKeyPath(PREFIX, poolKey('eqiad', 'appserver', `mw100${n}.eqiad.wmnet`))))?.modRevision,
      ),
    );
  const withHealth = (name: string, url: string): string =>
    writeFile(
      dir,
      name,
      inventoryYaml(etcd.endpoint, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet' }], {
        healthUrl: url,
      }),
    );

  it('exits 2 for a health URL naming {release} without --release, in plan and sync, writing nothing', async () => {
    wipe(etcd.endpoint);
    const pooled = { pooled: 'yes', weight: 10 };
    await seed(
      kv,
      'eqiad',
      'appserver',
      Object.fromEntries([1, 2, 3, 4].map((n) => [`mw100${n}.eqiad.wmnet`, pooled])),
    );
    const file = withHealth('release.yaml', 'http://{address}/ping?release={release}');
    const before = await revisions();
    for (const args of [['plan'], ['sync', '--yes'], ['restart', 'appserver', 'eqiad', '--yes']]) {
      const r = await rollout([...args, '-i', file], { cwd: dir });
      expectExit(r, 2);
      expect(r.stderr).toMatch(/release\.yaml:\d+:\d+: defaults\.health\.url: health\.url names \{release\}/);
      expect(r.stderr).toContain('--release');
    }
    expect(await revisions()).toEqual(before);
    expect(await listLocks(kv)).toEqual([]);
    expect(await listRuns(kv)).toEqual([]);
  });

  it('exits 2 for an unknown placeholder, in plan and sync, writing nothing', async () => {
    const file = withHealth('unknown.yaml', 'http://{adress}/ping');
    const before = await revisions();
    for (const args of [['plan'], ['sync', '--yes']]) {
      const r = await rollout([...args, '-i', file], { cwd: dir });
      expectExit(r, 2);
      expect(r.stderr).toMatch(/unknown\.yaml:\d+:\d+: defaults\.health\.url: unknown placeholder \{adress\}/);
    }
    expect(await revisions()).toEqual(before);
  });
});
