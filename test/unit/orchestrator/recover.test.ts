import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../../src/health/types.js';
import { allHosts, type InventoryHost } from '../../../src/inventory/types.js';
import {
  recoverRuns,
  type DeadRun,
  type RecoverOutcome,
  type RecoverPorts,
} from '../../../src/orchestrator/recover.js';
import {
  createJournal,
  finishRun,
  listRuns,
  recordJournalHost,
  type JournalHost,
} from '../../../src/coordination/journal.js';
import { createMemoryKv, type MemoryKv } from '../../../src/kv/memory-kv.js';
import { runBatchKey, runHostKey } from '../../../src/coordination/keys.js';
import { createPoolStore, poolKeyPath } from '../../../src/pool/store.js';
import type { PoolKey, PoolStore } from '../../../src/pool/types.js';
import { fleet, poolKeyOfHost } from '../../support/fleet.js';

const PREFIX = '/conftool/v1/pools';
const NOW = Date.parse('2026-11-24T20:00:00Z');

interface World {
  readonly kv: MemoryKv;
  readonly pool: PoolStore;
  readonly hosts: Map<string, InventoryHost>;
  /** Host names whose probe answers ok. */
  readonly healthy: Set<string>;
  readonly probed: string[];
  readonly slept: number[];
  /** Runs just before each probe answers (to change a key behind recover's back). */
  beforeAnswer: (host: string) => Promise<void>;
  key(host: string): PoolKey;
  value(host: string): Promise<Record<string, unknown> | null>;
  put(host: string, value: Record<string, unknown>): Promise<number>;
  recover(act: boolean): Promise<RecoverOutcome[]>;
}

/** The journal ports as `rollout recover` wires them: straight to the run's keys. */
function ports(kv: MemoryKv): RecoverPorts {
  return {
    record: (runId, entry) => recordJournalHost(kv, runId, entry),
    finish: (runId, outcome) => finishRun(kv, runId, outcome, () => NOW),
  };
}

async function deadRuns(kv: MemoryKv): Promise<DeadRun[]> {
  return (await listRuns(kv))
    .filter((r) => r.dead)
    .map((r) => ({
      runId: r.runId,
      command: r.meta?.command ?? '?',
      who: 'alice@deploy1',
      startedAt: r.meta?.startedAt ?? '',
      hosts: r.hosts,
      batches: r.batches,
    }));
}

async function world(): Promise<World> {
  const { inventory } = fleet()
    .cluster('appserver', 4, { settings: { health: { attempts: 3, intervalSeconds: 2 } } })
    .build();
  const kv = createMemoryKv();
  const pool = createPoolStore(kv, PREFIX);
  const hosts = new Map(allHosts(inventory).map((h) => [h.name, h] as const));
  const w: World = {
    kv,
    pool,
    hosts,
    healthy: new Set(hosts.keys()),
    probed: [],
    slept: [],
    beforeAnswer: async () => undefined,
    key: (host) => poolKeyOfHost(hosts.get(host) as InventoryHost),
    async value(host) {
      const entry = await kv.get(poolKeyPath(PREFIX, w.key(host)));
      return entry ? (JSON.parse(entry.value) as Record<string, unknown>) : null;
    },
    put: (host, value) => kv.put(poolKeyPath(PREFIX, w.key(host)), JSON.stringify(value)),
    async recover(act) {
      const probe = {
        async check(host: InventoryHost): Promise<ProbeResult> {
          w.probed.push(host.name);
          await w.beforeAnswer(host.name);
          return w.healthy.has(host.name) ? { ok: true, detail: 'HTTP 200' } : { ok: false, detail: 'HTTP 503' };
        },
      };
      const deps = { pool, probe, clock: { now: () => NOW }, sleep: async (ms: number) => void w.slept.push(ms) };
      return recoverRuns(deps, { runs: await deadRuns(kv), hosts, act, who: 'bob@deploy2', ports: ports(kv) });
    },
  };
  for (const name of hosts.keys()) await w.put(name, { pooled: 'yes', weight: 10, comment: 'rack B4' });
  return w;
}

/**
 * A run that depooled `names` and died (no finish, no lock). With `journaled: false` it died
 * between its pool write and the journal update that records the written revision.
 */
async function killedRun(
  w: World,
  names: readonly string[],
  options: { journaled?: boolean; runId?: string; marker?: boolean } = {},
): Promise<string> {
  const runId = options.runId ?? 'r-dead';
  const holder = {
    user: 'alice',
    machine: 'deploy1',
    pid: 4242,
    command: 'rollout sync',
    runId,
    startedAt: new Date(NOW).toISOString(),
    reason: 'deploy',
  };
  const journal = await createJournal(w.kv, {
    runId,
    holder,
    command: 'rollout sync',
    emergency: false,
    startedAt: holder.startedAt,
    lease: '0',
  });
  for (const [i, name] of names.entries()) {
    const key = w.key(name);
    const read = await w.pool.readGuarded([key]);
    const entry = read.snapshot.get(`${key.dc}/${key.cluster}/${key.service}/${key.host}`);
    if (entry?.state !== 'present') throw new Error(`test setup: ${name} has no pool value`);
    const base: JournalHost = {
      key,
      prior: entry.value,
      priorRevision: entry.modRevision,
      phase: 'depool',
      wroteRevision: null,
      wroteValue: null,
      updatedAt: holder.startedAt,
    };
    await journal.record(base);
    // As a run depools: one transaction with the batch's commit marker.
    const marker = {
      key: runBatchKey(runId, key.dc, key.cluster, i + 1),
      value: JSON.stringify({ hosts: [name], at: holder.startedAt }),
    };
    const wroteRevision = await w.pool.writeAll(
      read,
      [{ entry, change: { pooled: 'no' } }],
      options.marker === false ? [] : [marker],
    );
    if (options.journaled !== false)
      await journal.record({ ...base, phase: 'restart', wroteRevision, wroteValue: { ...entry.value, pooled: 'no' } });
  }
  return runId;
}

async function journalOf(w: World, runId: string, host: string): Promise<JournalHost> {
  const entry = await w.kv.get(runHostKey(runId, w.key(host)));
  return JSON.parse(entry?.value ?? 'null') as JournalHost;
}

describe('recoverRuns', () => {
  it('repools a healthy host a dead run left depooled, to its prior value, and finishes the run', async () => {
    const w = await world();
    const runId = await killedRun(w, ['mw1001']);
    const outcomes = await w.recover(true);
    expect(outcomes).toEqual([
      expect.objectContaining({ runId, host: 'mw1001', action: 'repooled', prior: 'yes', phase: 'restart' }),
    ]);
    expect(await w.value('mw1001')).toEqual({ pooled: 'yes', weight: 10, comment: 'rack B4' });
    expect(await journalOf(w, runId, 'mw1001')).toMatchObject({
      phase: 'repooled',
      note: expect.stringContaining('bob@deploy2'),
    });
    const run = (await listRuns(w.kv)).find((r) => r.runId === runId);
    expect(run?.dead).toBe(false);
    expect(run?.meta?.outcome).toContain('recovered by bob@deploy2');
  });

  it('leaves an unhealthy host depooled, reports it after every attempt, and keeps the run open', async () => {
    const w = await world();
    w.healthy.delete('mw1002');
    await killedRun(w, ['mw1001', 'mw1002']);
    const outcomes = await w.recover(true);
    expect(outcomes.map((o) => [o.host, o.action])).toEqual([
      ['mw1001', 'repooled'],
      ['mw1002', 'unhealthy'],
    ]);
    expect(outcomes[1]?.detail).toContain('HTTP 503');
    expect(w.probed.filter((h) => h === 'mw1002')).toHaveLength(3);
    expect(w.slept).toEqual([2000, 2000]);
    expect(await w.value('mw1002')).toMatchObject({ pooled: 'no' });
    expect((await deadRuns(w.kv)).map((r) => r.runId)).toEqual(['r-dead']);
  });

  it('leaves alone a key someone changed since the run wrote it', async () => {
    const w = await world();
    const runId = await killedRun(w, ['mw1001', 'mw1003']);
    await w.put('mw1001', { pooled: 'no', weight: 10, comment: 'rack B4' }); // an operator depooled it again, by hand
    await w.put('mw1003', { pooled: 'yes', weight: 10, comment: 'rack B4' }); // someone already repooled it
    const revision = await w.kv.get(poolKeyPath(PREFIX, w.key('mw1001')));
    const outcomes = await w.recover(true);
    expect(outcomes.map((o) => [o.host, o.action])).toEqual([
      ['mw1001', 'changed-since'],
      ['mw1003', 'not-depooled'],
    ]);
    expect(await w.kv.get(poolKeyPath(PREFIX, w.key('mw1001')))).toEqual(revision);
    expect(w.probed).toEqual([]);
    expect(await journalOf(w, runId, 'mw1001')).toMatchObject({ phase: 'left' });
  });

  it('recognises a run killed between its depool write and the journal update', async () => {
    const w = await world();
    const runId = await killedRun(w, ['mw1002'], { journaled: false });
    expect(await journalOf(w, runId, 'mw1002')).toMatchObject({ wroteRevision: null, phase: 'depool' });
    const outcomes = await w.recover(true);
    expect(outcomes).toEqual([expect.objectContaining({ host: 'mw1002', action: 'repooled' })]);
    expect(await w.value('mw1002')).toEqual({ pooled: 'yes', weight: 10, comment: 'rack B4' });
  });

  it('does not take a different depooled value for the unjournaled write of a killed run', async () => {
    const w = await world();
    await killedRun(w, ['mw1002'], { journaled: false });
    await w.put('mw1002', { pooled: 'no', weight: 5, comment: 'rack B4' }); // someone changed the weight too
    const outcomes = await w.recover(true);
    expect(outcomes.map((o) => o.action)).toEqual(['changed-since']);
    expect(await w.value('mw1002')).toMatchObject({ pooled: 'no', weight: 5 });
  });

  it("never takes a key for the dead run's by its value alone: without the write revision (journal or batch marker) it is left", async () => {
    const w = await world();
    // As if an operator depooled with exactly the value a run writes, and the run never committed its depool.
    await killedRun(w, ['mw1002'], { journaled: false, marker: false });
    const outcomes = await w.recover(true);
    expect(outcomes.map((o) => o.action)).toEqual(['changed-since']);
    expect(await w.value('mw1002')).toMatchObject({ pooled: 'no' });
    expect(w.probed).toEqual([]);
  });

  it('changes nothing and probes nothing with act: false', async () => {
    const w = await world();
    await killedRun(w, ['mw1001', 'mw1002']);
    const before = await w.kv.revision();
    const outcomes = await w.recover(false);
    expect(outcomes.map((o) => [o.host, o.action])).toEqual([
      ['mw1001', 'would-repool'],
      ['mw1002', 'would-repool'],
    ]);
    expect(await w.kv.revision()).toBe(before);
    expect(w.probed).toEqual([]);
  });

  it('changes nothing the second time it runs', async () => {
    const w = await world();
    await killedRun(w, ['mw1001', 'mw1002']);
    await w.recover(true);
    const before = await w.kv.revision();
    expect(await w.recover(true)).toEqual([]);
    expect(await w.kv.revision()).toBe(before);
  });

  it('treats a key changed during the health check as changed since, and goes on with the other hosts', async () => {
    const w = await world();
    await killedRun(w, ['mw1001', 'mw1002']);
    w.beforeAnswer = async (host) => {
      if (host === 'mw1001') await w.put('mw1001', { pooled: 'inactive', weight: 10, comment: 'decommissioned' });
    };
    const outcomes = await w.recover(true);
    expect(outcomes.map((o) => [o.host, o.action])).toEqual([
      ['mw1001', 'changed-since'],
      ['mw1002', 'repooled'],
    ]);
    expect(await w.value('mw1001')).toMatchObject({ pooled: 'inactive' });
    expect(await w.value('mw1002')).toMatchObject({ pooled: 'yes' });
  });
});

describe('recoverRuns for a host in several pools', () => {
  it('repools every key the dead run depooled, after one health check of the host, and reports each pool', async () => {
    const w = await world();
    const host = w.hosts.get('mw1001') as InventoryHost;
    const keys = ['apache2', 'nginx'].map((service) => ({ ...w.key('mw1001'), service }));
    for (const key of keys) await w.kv.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'yes', weight: 10 }));
    Object.assign(host.settings, { service: 'apache2', services: ['apache2', 'nginx'] });
    const runId = 'r-two';
    const startedAt = new Date(NOW).toISOString();
    const holder = { user: 'alice', machine: 'deploy1', pid: 1, command: 'rollout sync', runId, startedAt, reason: '' };
    const journal = await createJournal(w.kv, {
      runId,
      holder,
      command: 'rollout sync',
      emergency: false,
      startedAt,
      lease: '0',
    });
    const read = await w.pool.readGuarded(keys);
    const entries = keys.map((k) => read.snapshot.get(`${k.dc}/${k.cluster}/${k.service}/${k.host}`));
    const bases = entries.map((e): JournalHost => {
      if (e?.state !== 'present') throw new Error('setup');
      return {
        key: e.key,
        prior: e.value,
        priorRevision: e.modRevision,
        phase: 'depool',
        wroteRevision: null,
        wroteValue: null,
        updatedAt: startedAt,
      };
    });
    await journal.recordAll(bases);
    // As a run depools a host in two pools: both keys in one transaction with the batch's marker; it dies before journaling more.
    await w.pool.writeAll(
      read,
      entries.map((entry) => ({ entry: entry as NonNullable<typeof entry>, change: { pooled: 'no' } as const })),
      [
        {
          key: runBatchKey(runId, 'eqiad', 'appserver', 1),
          value: JSON.stringify({ hosts: ['mw1001'], at: startedAt }),
        },
      ],
    );
    const outcomes = await w.recover(true);
    expect(outcomes.map((o) => [o.host, o.service, o.action])).toEqual([
      ['mw1001', 'apache2', 'repooled'],
      ['mw1001', 'nginx', 'repooled'],
    ]);
    expect(w.probed).toEqual(['mw1001']);
    for (const key of keys)
      expect(JSON.parse((await w.kv.get(poolKeyPath(PREFIX, key)))?.value ?? '')).toEqual({
        pooled: 'yes',
        weight: 10,
      });
  });
});
