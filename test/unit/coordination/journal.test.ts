import { describe, expect, it } from 'vitest';
import { createJournal, deleteRun, listRuns, newRunId } from '../../../src/coordination/journal.js';
import type { JournalHost, RunMeta } from '../../../src/coordination/journal.js';
import { acquireLocks } from '../../../src/coordination/lock.js';
import type { LockHolder } from '../../../src/coordination/lock.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';

const holder: LockHolder = {
  user: 'alice',
  machine: 'deploy1',
  pid: 4242,
  command: 'rollout sync',
  runId: '20261124T195500Z-ab12cd',
  startedAt: '2026-11-24T19:55:00.000Z',
  reason: '',
};
const meta: RunMeta = {
  runId: holder.runId,
  holder,
  command: 'rollout sync',
  emergency: false,
  startedAt: holder.startedAt,
  lease: '1',
};
const host: JournalHost = {
  key: { dc: 'eqiad', cluster: 'appserver', service: 'apache2', host: 'mw1001' },
  prior: { pooled: 'yes', weight: 10 },
  priorRevision: 7,
  phase: 'depool',
  wroteRevision: null,
  wroteValue: null,
  updatedAt: '2026-11-24T19:55:01.000Z',
};
const time = { now: () => 0, sleep: async () => {} };

describe('run ids', () => {
  it('are a UTC timestamp and six hex digits', () => {
    expect(newRunId(Date.UTC(2026, 10, 24, 19, 55, 0, 123), () => 0xab12cd / 0x1000000)).toBe(
      '20261124T195500Z-ab12cd',
    );
    expect(newRunId(0, () => 0)).toBe('19700101T000000Z-000000');
    expect(newRunId(0, () => 0.999999999)).toBe('19700101T000000Z-ffffff');
  });
});

describe('run journal', () => {
  it('records the meta and each host under the run, and reads them back', async () => {
    const kv = createMemoryKv();
    const journal = await createJournal(kv, meta);
    await journal.record(host);
    await journal.record({ ...host, phase: 'restart', wroteRevision: 9, wroteValue: { pooled: 'no', weight: 10 } });
    expect(await kv.get(`/rollout/v1/runs/${meta.runId}/hosts/eqiad/appserver/apache2/mw1001`)).not.toBeNull();
    const [run] = await listRuns(kv);
    expect(run?.meta).toEqual(meta);
    expect(run?.hosts).toEqual([
      { ...host, phase: 'restart', wroteRevision: 9, wroteValue: { pooled: 'no', weight: 10 } },
    ]);
  });

  it('refuses every write once the lock key moved (the fence), and leaves the record as it was', async () => {
    const kv = createMemoryKv();
    const lock = '/rollout/v1/locks/eqiad/appserver';
    const fence = [{ key: lock, modRevision: await kv.put(lock, 'run-1') }];
    const journal = await createJournal(kv, meta, { fence });
    await journal.record(host);
    await journal.recordAll([host]);
    await kv.put(lock, 'another run'); // the lease expired and another run took the lock
    const later = {
      ...host,
      phase: 'restart' as const,
      wroteRevision: 9,
      wroteValue: { pooled: 'no' as const, weight: 10 },
    };
    await expect(journal.record(later)).rejects.toMatchObject({ code: 'E_POOL_CONFLICT' });
    await expect(journal.recordAll([later])).rejects.toMatchObject({ code: 'E_POOL_CONFLICT' });
    await expect(journal.finish('ok')).rejects.toMatchObject({ code: 'E_POOL_CONFLICT' });
    const [run] = await listRuns(kv);
    expect(run?.hosts).toEqual([host]);
    expect(run?.meta?.outcome).toBeUndefined();
  });

  it('never reuses a run id', async () => {
    const kv = createMemoryKv();
    await createJournal(kv, meta);
    await expect(createJournal(kv, meta)).rejects.toMatchObject({ code: 'E_POOL_CONFLICT' });
  });

  it('calls a run dead when it did not finish and none of its locks remain', async () => {
    const kv = createMemoryKv();
    const locks = await acquireLocks(kv, [{ dc: 'eqiad', cluster: 'appserver' }], holder, time);
    const journal = await createJournal(kv, { ...meta, lease: locks.lease.id });
    await journal.record(host);
    expect(await listRuns(kv)).toMatchObject([{ runId: meta.runId, locked: true, dead: false }]);
    kv.expire(locks.lease.id); // the process was SIGKILLed: its lease ran out
    expect(await listRuns(kv)).toMatchObject([{ runId: meta.runId, locked: false, dead: true, hosts: [host] }]);
  });

  it('does not call a finished run dead', async () => {
    const kv = createMemoryKv();
    const journal = await createJournal(kv, meta, { now: () => Date.UTC(2026, 10, 24, 20, 0, 0) });
    await journal.finish('ok');
    const [run] = await listRuns(kv);
    expect(run).toMatchObject({
      dead: false,
      locked: false,
      meta: { finishedAt: '2026-11-24T20:00:00.000Z', outcome: 'ok' },
    });
  });

  it('reports unreadable journal keys instead of failing', async () => {
    const kv = createMemoryKv();
    await kv.put('/rollout/v1/runs/r-x/meta', 'garbage');
    await kv.put('/rollout/v1/runs/r-x/hosts/eqiad/appserver/apache2/mw1', '{"phase": 1}');
    const [run] = await listRuns(kv);
    expect(run).toMatchObject({ runId: 'r-x', meta: null, hosts: [], dead: true });
    expect(run?.unreadable).toEqual([
      '/rollout/v1/runs/r-x/hosts/eqiad/appserver/apache2/mw1',
      '/rollout/v1/runs/r-x/meta',
    ]);
  });

  it('deletes one run and leaves the others', async () => {
    const kv = createMemoryKv();
    const journal = await createJournal(kv, meta);
    await journal.record(host);
    await createJournal(kv, { ...meta, runId: 'other' });
    expect(await deleteRun(kv, meta.runId)).toBe(2);
    expect((await listRuns(kv)).map((r) => r.runId)).toEqual(['other']);
  });

  it('discards a finished journal whole (meta, hosts, batch markers) and leaves other runs', async () => {
    const kv = createMemoryKv();
    const journal = await createJournal(kv, meta);
    await journal.record(host);
    await kv.put(`/rollout/v1/runs/${meta.runId}/batches/eqiad/appserver/1`, '{}');
    await createJournal(kv, { ...meta, runId: 'other' });
    await journal.finish('ok');
    expect(await journal.discard()).toBe(3);
    expect((await kv.list('/rollout/v1/runs/')).map((e) => e.key)).toEqual(['/rollout/v1/runs/other/meta']);
  });

  it('does not take a batch commit marker for an unreadable host record', async () => {
    const kv = createMemoryKv();
    await createJournal(kv, meta);
    await kv.put(`/rollout/v1/runs/${meta.runId}/batches/eqiad/appserver/1`, '{"hosts":["mw1"]}');
    const [run] = await listRuns(kv);
    expect(run?.unreadable).toEqual([]);
  });
});
