import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { RunSteering } from '../../../src/orchestrator/steering.js';
import type { RolloutEvent } from '../../../src/report/events.js';
import { harness, type Harness } from './harness.js';

/** A steering wired to the harness's fake clock and event list; `stop` is the run's soft stop. */
function steer(h: Harness, options: { paceMs?: number; deadlineInMs?: number } = {}) {
  const stop = new AbortController();
  const steering = new RunSteering({
    clock: { now: () => h.now },
    async sleep(ms) {
      h.now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
    emit: (event) =>
      void h.events.push({ ...event, time: new Date(h.now).toISOString(), runId: 'run-1' } as RolloutEvent),
    paceMs: options.paceMs,
    deadline:
      options.deadlineInMs === undefined ? undefined : { atMs: h.now + options.deadlineInMs, text: 'test deadline' },
    stop: stop.signal,
    onStop: (reason) => stop.abort(reason),
  });
  return { steering, stop: stop.signal };
}

/** Lets the run go on (memory adapters answer on the next turns) until `done` holds, or fails. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i += 1) await new Promise((resolve) => setImmediate(resolve));
  expect(done()).toBe(true);
}

async function settle(turns = 200): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const batchStarts = (h: Harness): number => h.events.filter((e) => e.event === 'batch.started').length;

describe('steering a run', () => {
  it('pause lets the hosts in flight finish and repool, then starts nothing until resume', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const { steering, stop } = steer(h);
    h.exec = (host) => {
      if (host === 'mw1001') steering.pause({ by: 'alice@deploy1', reason: 'alert on the db' });
    };
    const running = h.run({ steering, stop, batchMode: 'barrier' });
    await until(() => h.events.some((e) => e.event === 'batch.finished'));
    await settle();
    // Batch 1 finished and repooled; batch 2 waits.
    expect(h.names('host.done')).toEqual(['mw1001', 'mw1002']);
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
    expect(batchStarts(h)).toBe(1);
    expect(steering.state).toBe('paused');
    expect(h.events.find((e) => e.event === 'run.paused')).toMatchObject({
      by: 'alice@deploy1',
      reason: 'alert on the db',
    });
    steering.resume({ by: 'bob@deploy2' });
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(h.names('host.done')).toEqual(['mw1001', 'mw1002', 'mw1003', 'mw1004']);
    expect(h.events.find((e) => e.event === 'run.resumed')).toMatchObject({ by: 'bob@deploy2' });
    expect(h.execs).toHaveLength(4);
  });

  it('abort stops a paused run: nothing more starts, nothing is left depooled, exit 1 naming who', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const { steering, stop } = steer(h);
    h.exec = (host) => {
      if (host === 'mw1001') steering.pause({ by: 'alice@deploy1', reason: 'hold' });
    };
    const running = h.run({ steering, stop, interrupt: new AbortController().signal, batchMode: 'barrier' });
    await until(() => h.events.some((e) => e.event === 'batch.finished'));
    steering.abort({ by: 'carol@laptop', reason: 'bad release' });
    const result = await running;
    expect(result.exitCode).toBe(1);
    expect(h.execs.map((e) => e.host)).toEqual(['mw1001', 'mw1002']);
    for (const host of ['mw1001', 'mw1002', 'mw1003', 'mw1004']) expect((await h.value(host))?.['pooled']).toBe('yes');
    expect(h.events.find((e) => e.event === 'run.aborted')).toMatchObject({
      by: 'carol@laptop',
      reason: 'bad release',
    });
    expect(result.hosts.filter((x) => x.outcome === 'not-started').map((x) => x.host)).toEqual(['mw1003', 'mw1004']);
  });

  it('abort mid-batch soft-stops it: hosts not yet restarted are put back, those restarted finish', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const { steering, stop } = steer(h);
    h.exec = (host) => {
      if (host === 'mw1001') steering.abort({ by: 'carol@laptop', reason: 'stop now' });
    };
    const result = await h.run({ steering, stop, interrupt: new AbortController().signal, batchMode: 'barrier' });
    expect(result.exitCode).toBe(1);
    for (const host of ['mw1001', 'mw1002', 'mw1003', 'mw1004']) expect((await h.value(host))?.['pooled']).toBe('yes');
    expect(batchStarts(h)).toBe(1);
  });

  it('past the deadline nothing new starts and the run ends as on abort, saying so', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 1 }).build());
    // Each host waits 1 s of (fake) LB propagation, so the deadline falls after the first host.
    const { steering, stop } = steer(h, { deadlineInMs: 500 });
    const result = await h.run({ steering, stop, interrupt: new AbortController().signal });
    expect(result.exitCode).toBe(1);
    expect(h.execs.map((e) => e.host)).toEqual(['mw1001']);
    expect(h.events.find((e) => e.event === 'run.aborted')).toMatchObject({ by: 'deadline' });
    expect((await h.value('mw1002'))?.['pooled']).toBe('yes');
  });

  it('paces dispatches in a cluster: batch starts are at least the pace apart', async () => {
    const h = await harness(fleet().cluster('appserver', 3, { batch: 1 }).build());
    const { steering, stop } = steer(h, { paceMs: 60_000 });
    const result = await h.run({ steering, stop, batchMode: 'barrier' });
    expect(result.exitCode).toBe(0);
    const starts = h.events.filter((e) => e.event === 'batch.started').map((e) => Date.parse(e.time));
    expect(starts).toHaveLength(3);
    for (let i = 1; i < starts.length; i += 1)
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(60_000);
  });

  it('window: pause lets the hosts in flight finish and repool, and dispatches no host until resume', async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2 }).build());
    const { steering, stop } = steer(h);
    h.exec = (host) => {
      if (host === 'mw1001') steering.pause({ by: 'alice@deploy1', reason: 'alert on the db' });
    };
    const running = h.run({ steering, stop, batchMode: 'window' });
    await until(() => h.names('host.done').length === 2);
    await settle();
    expect(h.names('host.dispatched')).toEqual(['mw1001', 'mw1002']);
    expect(h.names('host.done')).toEqual(['mw1001', 'mw1002']);
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
    expect((await h.value('mw1002'))?.['pooled']).toBe('yes');
    expect(steering.state).toBe('paused');
    steering.resume({ by: 'bob@deploy2' });
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(h.execs).toHaveLength(6);
  });

  it('window: abort mid-window starts no new host and leaves nothing depooled', async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2 }).build());
    const { steering, stop } = steer(h);
    h.exec = (host) => {
      if (host === 'mw1002') steering.abort({ by: 'carol@laptop', reason: 'stop now' });
    };
    const result = await h.run({ steering, stop, interrupt: new AbortController().signal, batchMode: 'window' });
    expect(result.exitCode).toBe(1);
    for (const host of ['mw1001', 'mw1002', 'mw1003', 'mw1004', 'mw1005', 'mw1006'])
      expect((await h.value(host))?.['pooled'], host).toBe('yes');
    expect(result.hosts.filter((x) => x.outcome === 'not-started').length).toBeGreaterThan(0);
    expect(h.names('host.dispatched')).not.toContain('mw1006');
  });

  it('window: with a pace, hosts are dispatched one at a time, at least the pace apart', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const { steering, stop } = steer(h, { paceMs: 60_000 });
    const result = await h.run({ steering, stop, batchMode: 'window' });
    expect(result.exitCode).toBe(0);
    const starts = h.events.filter((e) => e.event === 'host.dispatched').map((e) => Date.parse(e.time));
    expect(starts).toHaveLength(4);
    for (let i = 1; i < starts.length; i += 1)
      expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(60_000);
  });

  it('a hold (a question waiting) pauses the run; an operator resume does not end it, releasing it does', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    const { steering } = steer(h);
    const release = steering.hold({ by: 'rollout', reason: 'asking what to do about mw1001' });
    expect(steering.state).toBe('paused');
    steering.resume({ by: 'bob@deploy2' });
    expect(steering.state).toBe('paused');
    let answered = false;
    const dispatch = steering.beforeDispatch({ dc: 'eqiad', cluster: 'appserver' }).then((r) => {
      answered = true;
      return r;
    });
    await settle(20);
    expect(answered).toBe(false);
    release();
    expect(await dispatch).toBe('go');
  });

  it("an operator's pause during a question outlasts the answer, until resume", async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    const { steering } = steer(h);
    const release = steering.hold({ by: 'alice@deploy1', reason: 'asking about mw1001' });
    steering.pause({ by: 'bob@laptop', reason: 'incident' });
    release();
    expect(steering.state).toBe('paused');
    steering.resume({ by: 'bob@laptop' });
    expect(steering.state).toBe('running');
    expect(h.events.map((e) => e.event)).toEqual(['run.paused', 'run.paused', 'run.resumed']);
  });
});

describe('a run resuming a stopped one', () => {
  it('restarts a host the stopped run left depooled, health-checks it and repools it to its prior state, by revision', async () => {
    const h = await harness(
      fleet()
        .cluster('appserver', 4, { batch: 2, states: ['no', 'yes', 'yes', 'yes'] })
        .build(),
    );
    const entry = await h.kv.get(`/conftool/v1/pools/eqiad/appserver/${h.keyOf('mw1001').service}/mw1001`);
    if (!entry) throw new Error('no pool key for mw1001');
    const value = JSON.parse(entry.value) as { pooled: 'no'; weight: number };
    const adopted = new Map([
      [
        'mw1001',
        {
          keys: [
            {
              key: h.keyOf('mw1001'),
              prior: { ...value, pooled: 'yes' as const },
              priorRevision: 1,
              wrote: { value, revision: entry.modRevision },
            },
          ],
        },
      ],
    ]);
    const result = await h.run({ adopted });
    expect(result.exitCode).toBe(0);
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
    expect(h.names('host.repooled')).toContain('mw1001');
    // Its record in this run's journal names its prior state from the stopped run.
    expect(h.journal.find((r) => r.key.host === 'mw1001' && r.phase === 'repooled')?.prior?.pooled).toBe('yes');
  });
});
