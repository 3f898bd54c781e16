import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { createMemoryLbConfirmations } from '../../../src/lb/confirm-memory.js';
import { harness } from './harness.js';

const order = (events: { event: string; host?: string }[], host: string): string[] =>
  events.filter((e) => 'host' in e && e.host === host).map((e) => e.event);

describe('runRollout, graceful', () => {
  it('depools, confirms, drains, restarts, checks and repools every pooled host, in batches', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const result = await h.run({ batchMode: 'barrier' });
    expect(result.exitCode).toBe(0);
    expect(result.hosts.map((x) => x.outcome)).toEqual(['done', 'done', 'done', 'done']);
    expect(order(h.events, 'mw1001')).toEqual([
      'host.depooled',
      'lb.propagation-assumed',
      'host.drained',
      'host.restarted',
      'health.passed',
      'host.repooled',
      'host.done',
    ]);
    for (const host of ['mw1001', 'mw1002', 'mw1003', 'mw1004']) expect((await h.value(host))?.['pooled']).toBe('yes');
    // Batch 2 starts only once batch 1 has finished.
    const kinds = h.events.filter((e) => e.event.startsWith('batch.')).map((e) => e.event);
    expect(kinds).toEqual(['batch.started', 'batch.finished', 'batch.started', 'batch.finished']);
    expect(h.execs.map((e) => e.command)).toEqual(Array(4).fill('systemctl restart php8.2-fpm'));
  });

  it("releases each host's connection once the host is done or failed, and not before", async () => {
    const h = await harness(
      fleet()
        .cluster('appserver', 4, { states: ['yes', 'yes', 'yes', 'inactive'], batch: 2 })
        .build(),
    );
    const releasedAtRestart: string[][] = [];
    h.exec = () => void releasedAtRestart.push([...h.released]);
    h.health = (host) => (host.name === 'mw1002' ? { ok: false, detail: 'HTTP 500' } : undefined);
    await h.run();
    // mw1002's failure passes the budget, so batch 2 (mw1003) never starts; mw1004 (inactive) is not planned.
    expect([...h.released].sort()).toEqual(['mw1001', 'mw1002']);
    // Batch 1's hosts are still in flight at their own restarts: nothing is released yet.
    expect(releasedAtRestart.slice(0, 2)).toEqual([[], []]);
  });

  it('takes its LB confirmations from whichever adapter Deps holds: an agent of the memory adapter that never applies fails the host closed', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    const lb = createMemoryLbConfirmations();
    lb.register('eqiad', 'lb9');
    const result = await h.run({ lb });
    expect(result.hosts[0]).toMatchObject({
      host: 'mw1001',
      outcome: 'failed',
      step: 'lb-confirm',
      code: 'E_LB_CONFIRM',
      leftDepooled: true,
    });
    expect((await h.value('mw1001'))?.['pooled']).toBe('no');
  });

  it('restarts hosts others depooled without ever writing their key', async () => {
    const h = await harness(
      fleet()
        .cluster('appserver', 4, { states: ['yes', 'no', 'yes', 'inactive'], batch: 4, minPooled: 0 })
        .build(),
    );
    const before = await h.kv.get('/conftool/v1/pools/eqiad/appserver/php-fpm/mw1002');
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.execs.map((e) => e.host).sort()).toEqual(['mw1001', 'mw1002', 'mw1003']);
    const after = await h.kv.get('/conftool/v1/pools/eqiad/appserver/php-fpm/mw1002');
    expect(after?.modRevision).toBe(before?.modRevision);
    expect(h.names('host.depooled').sort()).toEqual(['mw1001', 'mw1003']);
    expect(h.names('host.skipped')).toEqual(['mw1004']);
  });

  it('journals the prior value before the depool and the repool after it', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    await h.run();
    const phases = h.journal.filter((j) => j.key.host === 'mw1001').map((j) => j.phase);
    // Nothing between: the batch's commit marker says when it was depooled.
    expect(phases).toEqual(['depool', 'repooled']);
    expect(h.journal[0]?.prior).toEqual({ pooled: 'yes', weight: 10 });
    expect(h.journal[0]?.wroteRevision).toBeNull();
    expect(h.journal[1]?.wroteValue).toEqual({ pooled: 'no', weight: 10 });
  });

  /** Runs the harness; resolves each named host's journal and depool revisions. */
  async function journalAndDepool(
    h: Awaited<ReturnType<typeof harness>>,
    hosts = ['mw1001', 'mw1002', 'mw1003', 'mw1004'],
  ): Promise<Map<string, [number, number]>> {
    const writes: { revision: number; key: string; value: string }[] = [];
    await h.kv.watch('/', 0, {
      onEvent: (e) => void (e.type === 'put' && writes.push({ revision: e.entry.modRevision, ...e.entry })),
      onResync: () => undefined,
    });
    expect((await h.run()).exitCode).toBe(0);
    const out = new Map<string, [number, number]>();
    for (const host of hosts) {
      const journaled = writes.find((w) => w.key.startsWith('/test-journal/') && w.value.includes(`"host":"${host}"`));
      const depooled = writes.find((w) => w.key.endsWith(`/${host}`) && w.value.includes('"pooled":"no"'));
      expect(journaled, host).toBeDefined();
      expect(depooled, host).toBeDefined();
      out.set(host, [journaled?.revision ?? Infinity, depooled?.revision ?? 0]);
    }
    return out;
  }

  it("commits every host's journal record in the very transaction that depools it (etcd v3)", async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    // Why: `rollout recover` finds a host only through its record; a depool without one could die unrecorded.
    for (const [host, [journaled, depooled]] of await journalAndDepool(h)) expect(journaled, host).toBe(depooled);
  });

  it('journals first, in a write of its own, where the store cannot commit it with the depool (v2)', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    Object.assign(h.pool, { atomicAlso: false });
    for (const [host, [journaled, depooled]] of await journalAndDepool(h))
      expect(journaled, host).toBeLessThan(depooled);
  });

  it("journals first a batch whose records would take its transaction past etcd's 128 operations", async () => {
    // 64 depools + a marker + 64 records is 129 operations.
    const h = await harness(fleet().cluster('appserver', 64, { batch: 64, minPooled: 0 }).build());
    const revisions = await journalAndDepool(h, ['mw1001', 'mw1064']);
    for (const [host, [journaled, depooled]] of revisions) expect(journaled, host).toBeLessThan(depooled);
  });

  it('runs clusters in parallel up to parallelClusters, and one at a time with 1', async () => {
    const build = () => fleet().cluster('appserver', 2, { batch: 1 }).cluster('api', 2, { batch: 1 }).build();
    const parallel = await harness(build());
    await parallel.run({ parallelClusters: 2, batchMode: 'barrier' });
    const starts = parallel.events
      .filter((e) => e.event === 'batch.started')
      .map((e) => ('cluster' in e ? e.cluster : ''));
    expect(starts.slice(0, 2).sort()).toEqual(['api', 'appserver']);
    const serial = await harness(build());
    await serial.run({ parallelClusters: 1, batchMode: 'barrier' });
    const serialStarts = serial.events
      .filter((e) => e.event === 'batch.started')
      .map((e) => ('cluster' in e ? e.cluster : ''));
    expect(serialStarts).toEqual(['appserver', 'appserver', 'api', 'api']);
  });

  it('waits for every registered LB agent to confirm the depool', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    h.agent('eqiad', 'lb1', true);
    h.agent('eqiad', 'lb2', true);
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    const confirmed = h.events.filter((e) => e.event === 'lb.confirmed');
    expect(confirmed).toHaveLength(2);
    expect(h.names('lb.propagation-assumed')).toEqual([]);
  });

  it('fails closed when a registered agent never confirms: the host stays depooled and is not restarted', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    h.agent('eqiad', 'lb1', true);
    h.agent('eqiad', 'lb-stuck', false);
    const result = await h.run({ failureBudget: { kind: 'count', value: 5 } });
    expect(result.exitCode).toBe(1);
    expect(result.hosts[0]).toMatchObject({
      host: 'mw1001',
      outcome: 'failed',
      step: 'lb-confirm',
      leftDepooled: true,
      code: 'E_LB_CONFIRM',
    });
    expect(h.execs).toEqual([]);
    expect((await h.value('mw1001'))?.['pooled']).toBe('no');
    // The capacity guard counts the failed host as depooled: with 2 hosts and minPooled 50%, no room
    // is left, and since this run's own failure holds it, the cluster stops at once (no wait).
    expect(result.hosts[1]?.outcome).toBe('not-started');
    expect(result.capacityRefused).toHaveLength(1);
    expect(result.capacityRefused[0]).toMatch(/mw1001 failed earlier in this run/);
    expect(h.names('capacity.waiting')).toEqual([]);
  });
});

describe('runRollout, failures', () => {
  it('leaves a host whose restart fails depooled, reports the step, and stops at the failure budget', async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 1, failureBudget: 0 }).build());
    h.exec = (host) => (host === 'mw1002' ? { exitCode: 1, stderr: 'Job for php8.2-fpm.service failed' } : undefined);
    const result = await h.run();
    expect(result.exitCode).toBe(1);
    expect(result.budgetExceeded).toBe(true);
    expect(result.hosts.map((x) => x.outcome)).toEqual([
      'done',
      'failed',
      'not-started',
      'not-started',
      'not-started',
      'not-started',
    ]);
    expect(result.hosts[1]).toMatchObject({ step: 'restart', code: 'E_RESTART', leftDepooled: true });
    expect(result.hosts[1]?.reason).toContain('Job for php8.2-fpm.service failed');
    expect((await h.value('mw1002'))?.['pooled']).toBe('no');
    expect((await h.value('mw1003'))?.['pooled']).toBe('yes');
    expect(h.journal.filter((j) => j.key.host === 'mw1002').at(-1)?.phase).toBe('failed');
  });

  it('never depools a host it cannot reach over SSH', async () => {
    const { RolloutError } = await import('../../../src/errors.js');
    const h = await harness(fleet().cluster('appserver', 3, { batch: 1, minPooled: 0 }).build());
    h.exec = (host) =>
      host === 'mw1002' ? new RolloutError('E_SSH_CONNECT', 'mw1002: connection refused', { host }) : undefined;
    const result = await h.run({ failureBudget: { kind: 'count', value: 5 } });
    expect(result.exitCode).toBe(1);
    expect(result.hosts[1]).toMatchObject({
      outcome: 'failed',
      step: 'depool',
      code: 'E_SSH_CONNECT',
      leftDepooled: false,
    });
    expect((await h.value('mw1002'))?.['pooled']).toBe('yes');
    expect(h.names('host.depooled')).toEqual(['mw1001', 'mw1003']);
  });

  it('leaves a host that never becomes healthy depooled, after every attempt', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, minPooled: 0 }).build());
    h.health = (host) =>
      host.name === 'mw1001' ? { ok: false, detail: 'HTTP 503 from http://mw1001:8080/' } : undefined;
    const result = await h.run({ failureBudget: { kind: 'count', value: 5 } });
    expect(result.exitCode).toBe(1);
    expect(result.hosts[0]).toMatchObject({ outcome: 'failed', step: 'health', code: 'E_HEALTH', leftDepooled: true });
    expect(result.hosts[0]?.reason).toMatch(/after 10 attempt\(s\).*HTTP 503/);
    expect(result.hosts[1]?.outcome).toBe('done');
  });

  it('reports an SSH connection failure as a failed host without stopping the other clusters', async () => {
    const { RolloutError } = await import('../../../src/errors.js');
    const h = await harness(
      fleet().cluster('appserver', 2, { batch: 1, minPooled: 0 }).cluster('api', 2, { batch: 1 }).build(),
    );
    h.exec = (host, command) =>
      host === 'mw1001' && command !== 'true'
        ? new RolloutError('E_SSH_CONNECT', 'mw1001: connection refused (10.0.0.1:22)', { host })
        : undefined;
    const result = await h.run({ failureBudget: { kind: 'count', value: 5 } });
    expect(result.hosts.find((x) => x.host === 'mw1001')).toMatchObject({
      outcome: 'failed',
      code: 'E_SSH_CONNECT',
      step: 'restart',
    });
    expect(result.hosts.filter((x) => x.outcome === 'done')).toHaveLength(3);
  });

  it('does not repool a host whose key someone changed during the run, and says so', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, minPooled: 0 }).build());
    h.exec = async (host, command) => {
      if (host === 'mw1001' && command !== 'true')
        await h.kv.put(
          `/conftool/v1/pools/eqiad/appserver/php-fpm/mw1001`,
          JSON.stringify({ pooled: 'no', weight: 0, note: 'operator' }),
        );
      return undefined;
    };
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(await h.value('mw1001')).toEqual({ pooled: 'no', weight: 0, note: 'operator' });
    expect(h.names('host.repool-skipped')).toEqual(['mw1001']);
    expect(h.journal.filter((j) => j.key.host === 'mw1001').at(-1)?.phase).toBe('left');
  });

  it('exits 5 when etcd goes away mid-run, and reports the host it could not repool as left depooled', async () => {
    const h = await harness(fleet().cluster('appserver', 3, { batch: 1, minPooled: 0 }).build());
    h.exec = (host, command) => {
      if (host === 'mw1001' && command !== 'true') h.kv.setDown(true);
      return undefined;
    };
    const result = await h.run();
    h.kv.setDown(false);
    expect(result.exitCode).toBe(5);
    expect(result.hosts[0]).toMatchObject({
      host: 'mw1001',
      outcome: 'failed',
      step: 'repool',
      code: 'E_ETCD_UNREACHABLE',
      leftDepooled: true,
    });
    // The next batch cannot even read the pool: its host fails untouched and the cluster stops.
    expect(result.hosts[1]).toMatchObject({
      outcome: 'failed',
      step: 'pending',
      code: 'E_ETCD_UNREACHABLE',
      leftDepooled: false,
    });
    expect(result.hosts[2]?.outcome).toBe('not-started');
    expect((await h.value('mw1001'))?.['pooled']).toBe('no');
    // The journal said what it depooled before etcd went, and the batch's marker at which revision: `rollout recover` can finish it.
    expect(h.journal.find((j) => j.key.host === 'mw1001' && j.phase === 'depool')?.prior?.pooled).toBe('yes');
    const key = await h.kv.get('/conftool/v1/pools/eqiad/appserver/php-fpm/mw1001');
    const markers = await h.kv.list('/rollout/v1/runs/run-1/batches/');
    expect(markers.find((m) => m.value.includes('"mw1001"'))?.modRevision).toBe(key?.modRevision);
  });

  it('waits for capacity taken by others, then refuses with exit 4 and changes nothing', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 1, minPooled: '50%' }).build());
    // Between planning and the batch, an operator depools two hosts: no room is left.
    h.exec = () => undefined;
    const original = h.pool.read.bind(h.pool);
    let reads = 0;
    h.pool.read = async (keys) => {
      reads += 1;
      if (reads === 2) {
        for (const host of ['mw1003', 'mw1004']) {
          const entry = (await original([h.keyOf(host)])).values().next().value;
          if (entry) await h.pool.write(entry, { pooled: 'no' });
        }
      }
      return original(keys);
    };
    const result = await h.run({ capacityWaitSeconds: 6 });
    expect(result.exitCode).toBe(4);
    expect(h.names('capacity.waiting')).toHaveLength(1);
    expect(h.names('host.depooled')).toEqual([]);
    expect(h.execs).toEqual([]);
    expect(result.capacityRefused[0]).toMatch(/2 pooled/);
  });
});

describe('runRollout, emergency and interrupts', () => {
  it('makes no pool write in an emergency, uses the emergency command and keeps the batches', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const before = await h.kv.revision();
    const result = await h.run({ emergency: true, batchMode: 'barrier' });
    expect(result.exitCode).toBe(0);
    expect(await h.kv.revision()).toBe(before);
    expect(h.execs.map((e) => e.command)).toEqual(Array(4).fill('systemctl kill-restart php8.2-fpm'));
    expect(h.events.filter((e) => e.event === 'batch.started')).toHaveLength(2);
    expect(h.names('host.drained')).toEqual([]);
  });

  it('stopped by something else than the operator (a lost lock, a preemption) stops alike but exits 1, and run.finished says 1', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const interrupt = new AbortController();
    const lockLost = new AbortController();
    h.exec = (host, command) => void (host === 'mw1001' && command !== 'true' && lockLost.abort('lock lost'));
    const result = await h.run({
      stop: AbortSignal.any([interrupt.signal, lockLost.signal]),
      interrupt: interrupt.signal,
    });
    expect(result.exitCode).toBe(1);
    expect(h.events.find((e) => e.event === 'run.finished')).toMatchObject({ exitCode: 1 });
    for (const host of ['mw1001', 'mw1002', 'mw1003', 'mw1004']) expect((await h.value(host))?.['pooled']).toBe('yes');
  });

  it('on a soft stop mid-batch finishes the running restart, repools, starts no new batch and exits 130', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const stop = new AbortController();
    h.exec = (host, command) => {
      if (host === 'mw1001' && command !== 'true') stop.abort('SIGINT');
      return undefined;
    };
    const result = await h.run({ stop: stop.signal });
    expect(result.exitCode).toBe(130);
    // mw1002 had not begun its restart: nothing new starts, so it is put back untouched.
    expect(h.execs.map((e) => e.host)).toEqual(['mw1001']);
    expect(result.hosts.map((x) => x.outcome)).toEqual(['done', 'interrupted', 'not-started', 'not-started']);
    for (const host of ['mw1001', 'mw1002', 'mw1003', 'mw1004']) expect((await h.value(host))?.['pooled']).toBe('yes');
    expect(h.names('run.interrupted')).toHaveLength(1);
  });

  it('repools a host interrupted while waiting for its drain, without restarting it', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 2 }).build());
    const stop = new AbortController();
    h.active = (host) => {
      if (host.name === 'mw1002') stop.abort('SIGTERM');
      return host.name === 'mw1002' ? 3 : 0;
    };
    const result = await h.run({ stop: stop.signal });
    expect(result.exitCode).toBe(130);
    expect(result.hosts.find((x) => x.host === 'mw1002')).toMatchObject({
      outcome: 'interrupted',
      leftDepooled: false,
    });
    expect((await h.value('mw1002'))?.['pooled']).toBe('yes');
  });
});
