import { describe, expect, it } from 'vitest';
import { createJournal } from '../../../src/coordination/journal.js';
import {
  keepUntil,
  pruneResumeRecords,
  readResumeRecord,
  RESUME_KEEP_DAYS,
  writeResumeRecord,
  type ResumeRecord,
} from '../../../src/coordination/resume.js';
import { resumeFrom, settleResume } from '../../../src/commands/resume.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';
import { createPoolStore, poolKeyPath } from '../../../src/pool/store.js';
import { withoutHosts } from '../../../src/planner/resume.js';
import { planRollout } from '../../../src/planner/plan.js';
import { fleet } from '../../support/fleet.js';

const PREFIX = '/conftool/v1/pools';
const DAY = 86_400_000;
const t0 = Date.parse('2026-12-04T02:00:00.000Z');
const record = (runId: string, finishedMs: number, done: string[] = []): ResumeRecord => ({
  runId,
  kind: 'sync',
  dcs: [],
  clusters: ['appserver'],
  command: 'rollout sync',
  user: 'alice',
  machine: 'deploy1',
  finishedAt: new Date(finishedMs).toISOString(),
  exitCode: 1,
  done,
  keepUntil: keepUntil(finishedMs),
  resumed: [],
});

describe('what a stopped run keeps for --resume', () => {
  it(`is kept ${RESUME_KEEP_DAYS} days, then refused and deleted by the next run's prune`, async () => {
    const kv = createMemoryKv();
    await writeResumeRecord(kv, record('old', t0 - 8 * DAY));
    await writeResumeRecord(kv, record('recent', t0 - 6 * DAY));
    await kv.put('/rollout/v1/resume/garbage', 'not json');
    expect(await readResumeRecord(kv, 'old', t0)).toBeNull();
    expect(await readResumeRecord(kv, 'recent', t0)).not.toBeNull();
    expect((await pruneResumeRecords(kv, t0)).sort()).toEqual(['garbage', 'old']);
    expect((await kv.list('/rollout/v1/resume/')).map((e) => e.key)).toEqual(['/rollout/v1/resume/recent']);
    expect(await readResumeRecord(kv, 'recent', t0 + 2 * DAY)).toBeNull();
  });

  it('plans only the hosts the stopped run did not finish, in their batches', () => {
    const { inventory, snapshot } = fleet().cluster('appserver', 4, { batch: 2 }).build();
    const plan = planRollout({
      inventory,
      selection: { kind: 'sync', dcs: [], clusters: [] },
      snapshot,
      options: { emergency: false, batchSize: undefined },
    });
    const left = withoutHosts(plan, new Set(['mw1001', 'mw1002', 'mw1004']));
    expect(left.clusters[0]?.batches.map((b) => b.hosts.map((h) => h.host))).toEqual([['mw1003']]);
    expect(left.clusters[0]?.toRestart).toBe(1);
  });

  it('takes over the hosts the stopped run left depooled only while their key still holds its write', async () => {
    const kv = createMemoryKv();
    const pool = createPoolStore(kv, PREFIX);
    const key = (host: string) => ({ dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host });
    const journal = await createJournal(kv, {
      runId: 'r-1',
      holder: {
        user: 'alice',
        machine: 'deploy1',
        pid: 1,
        command: 'rollout sync',
        runId: 'r-1',
        startedAt: '',
        reason: '',
      },
      command: 'rollout sync',
      emergency: false,
      startedAt: new Date(t0).toISOString(),
      lease: '1',
    });
    for (const host of ['mw1001', 'mw1002']) {
      const revision = await kv.put(poolKeyPath(PREFIX, key(host)), JSON.stringify({ pooled: 'no', weight: 10 }));
      await journal.record({
        key: key(host),
        prior: { pooled: 'yes', weight: 10 },
        priorRevision: 1,
        phase: 'failed',
        wroteRevision: revision,
        wroteValue: { pooled: 'no', weight: 10 },
        updatedAt: new Date(t0).toISOString(),
      });
    }
    await journal.finish('exit 1');
    // Someone depooled mw1002 again by hand since: no longer the stopped run's.
    await kv.put(poolKeyPath(PREFIX, key('mw1002')), JSON.stringify({ pooled: 'no', weight: 10 }));
    await writeResumeRecord(kv, record('r-1', t0, ['mw1003']));
    const from = await resumeFrom({ kv, pool, close: async () => undefined }, 'r-1', t0);
    expect([...from.adopted.keys()]).toEqual(['mw1001']);
    expect(from.adopted.get('mw1001')?.keys.map((k) => k.prior)).toEqual([{ pooled: 'yes', weight: 10 }]);
    expect([...from.done]).toEqual(['mw1003']);
    expect(from.leftInJournal).toBe(2);
    await expect(resumeFrom({ kv, pool, close: async () => undefined }, 'nosuch', t0)).rejects.toThrow(
      /nothing to resume/,
    );

    // The resumed run stopped again: its record carries both runs' finished hosts; the old record goes, the old journal
    // stays (mw1002 is still only in it).
    const hosts = ['mw1001', 'mw1004'].map((host) => ({
      host,
      dc: 'eqiad',
      cluster: 'appserver',
      outcome: host === 'mw1001' ? ('done' as const) : ('not-started' as const),
      step: 'done' as const,
      reason: undefined,
      code: undefined,
      leftDepooled: false,
      durationMs: 1,
    }));
    const run = {
      runId: 'r-2',
      kind: 'sync' as const,
      dcs: [],
      clusters: ['appserver'],
      command: 'rollout sync --resume r-1',
      user: 'bob',
      machine: 'x',
      exitCode: 1,
    };
    await settleResume(kv, { run, hosts, from, nowMs: t0 + 1000 });
    expect(await readResumeRecord(kv, 'r-1', t0)).toBeNull();
    expect(await readResumeRecord(kv, 'r-2', t0 + 1000)).toMatchObject({
      done: ['mw1001', 'mw1003'],
      resumed: ['r-1'],
    });
    expect(await kv.list('/rollout/v1/runs/r-1/')).not.toEqual([]);
  });
});
