import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import type { RolloutEvent } from '../../../src/report/events.js';
import { harness, type Harness } from './harness.js';

/** A small seeded PRNG (mulberry32): the same seed, the same run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** Watches the events as they come: the most hosts ever dispatched and not finished, and ever depooled and not repooled. */
function watchOut(h: Harness): { inFlight: number; depooled: number } {
  const most = { inFlight: 0, depooled: 0 };
  const flying = new Set<string>();
  const out = new Set<string>();
  const push = h.events.push.bind(h.events);
  h.events.push = (...events: RolloutEvent[]): number => {
    for (const e of events) {
      if (!('host' in e)) continue;
      if (e.event === 'host.dispatched') flying.add(e.host);
      if (['host.done', 'host.failed', 'host.skipped'].includes(e.event)) flying.delete(e.host);
      if (e.event === 'host.depooled') out.add(e.host);
      if (e.event === 'host.repooled') out.delete(e.host);
      most.inFlight = Math.max(most.inFlight, flying.size);
      most.depooled = Math.max(most.depooled, out.size);
    }
    return push(...events);
  };
  return most;
}

describe('the sliding window', () => {
  it('never has more than W hosts of a cluster out at once, whatever order they complete in (property, many seeds)', async () => {
    for (let seed = 1; seed <= 60; seed += 1) {
      const rnd = random(seed);
      const hosts = 4 + Math.floor(rnd() * 20);
      const width = 1 + Math.floor(rnd() * 5);
      const emergency = rnd() < 0.3;
      const h = await harness(fleet().cluster('appserver', hosts, { batch: width, minPooled: 0 }).build());
      const most = watchOut(h);
      // Why: each restart takes a random number of event-loop turns, so hosts complete in a random order.
      h.exec = async () => void (await ticks(Math.floor(rnd() * 30)));
      h.health = () => (rnd() < 0.1 ? { ok: false, detail: 'HTTP 500' } : undefined);
      const result = await h.run({ emergency, failureBudget: { kind: 'count', value: 1000 } });
      const where = `seed ${seed} (${hosts} hosts, W ${width}, ${emergency ? 'emergency' : 'graceful'})`;
      expect(most.inFlight, where).toBeLessThanOrEqual(width);
      expect(most.depooled, where).toBeLessThanOrEqual(width);
      expect(
        result.hosts.filter((x) => x.outcome === 'not-started'),
        where,
      ).toEqual([]);
      // Hosts start in plan order.
      expect(h.names('host.dispatched'), where).toEqual(result.hosts.map((x) => x.host));
    }
  });

  it('keeps restarting the hosts behind a slow one: the slow host finishes last', async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2, minPooled: 0 }).build());
    let others = 0;
    let release = (): void => undefined;
    const othersDone = new Promise<void>((resolve) => (release = resolve));
    h.exec = async (host, command) => {
      if (!command.includes('restart')) return;
      if (host === 'mw1001') {
        // Why: bounded, so a barrier that waited for it would end the test with the wrong order, not hang it.
        await Promise.race([othersDone, ticks(2000)]);
        return;
      }
      others += 1;
      if (others === 5) release();
    };
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.names('host.done')).toEqual(['mw1002', 'mw1003', 'mw1004', 'mw1005', 'mw1006', 'mw1001']);
  });

  it('keeps dispatching while one host is slow to connect: its pre-check holds up the others no longer than the hold', async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2, minPooled: 0 }).build());
    let release = (): void => undefined;
    const othersDone = new Promise<void>((resolve) => (release = resolve));
    let others = 0;
    h.exec = async (host, command) => {
      // The pre-depool check of mw1002 hangs until every other host is done (bounded, so a regression fails, not hangs).
      if (host === 'mw1002' && command === 'true') return void (await Promise.race([othersDone, ticks(2000)]));
      if (command.includes('restart') && host !== 'mw1002' && ++others === 5) release();
    };
    const most = watchOut(h);
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.names('host.done')).toEqual(['mw1001', 'mw1003', 'mw1004', 'mw1005', 'mw1006', 'mw1002']);
    // mw1002 held a place in the window while it connected, so never more than 2 out.
    expect(most.inFlight).toBeLessThanOrEqual(2);
  });

  it('widens along the ramp as hosts complete: 1, then 2 once 1 is done, then 4 once 3 are done', async () => {
    const h = await harness(
      fleet()
        .cluster('appserver', 12, { batch: [1, 2, 4], minPooled: 0 })
        .build(),
    );
    const most = watchOut(h);
    await h.run();
    const widths = h.events.flatMap((e) => (e.event === 'host.dispatched' ? [e.width] : []));
    // 2 once 1 host is done, 4 once 1 + 2 are: where barrier batch 3 would have started.
    expect(widths).toEqual([1, 2, 2, 2, ...Array<number>(8).fill(4)]);
    expect(most.inFlight).toBeLessThanOrEqual(4);
  });

  it('depools each dispatch in one guarded transaction with its commit marker, every host under exactly one marker', async () => {
    const h = await harness(fleet().cluster('appserver', 5, { batch: 2, minPooled: 0 }).build());
    await h.run();
    const depooled = h.events.flatMap((e) => (e.event === 'host.depooled' ? [e] : []));
    // The first dispatch fills the window: both hosts in one transaction.
    expect(depooled[0]?.modRevision).toBe(depooled[1]?.modRevision);
    const markers = await h.kv.list('/rollout/v1/runs/run-1/batches/');
    const listed = markers.flatMap((m) => (JSON.parse(m.value) as { hosts: string[] }).hosts).sort();
    expect(listed).toEqual(['mw1001', 'mw1002', 'mw1003', 'mw1004', 'mw1005']);
    for (const m of markers) {
      const hosts = (JSON.parse(m.value) as { hosts: string[] }).hosts;
      for (const host of hosts) expect(depooled.find((e) => e.host === host)?.modRevision, host).toBe(m.modRevision);
    }
  });

  it('stops dispatching once the failure budget trips; the hosts in flight finish and are reported', async () => {
    const h = await harness(fleet().cluster('appserver', 8, { batch: 2, minPooled: 0, failureBudget: 0 }).build());
    h.exec = async (host, command) => {
      if (!command.includes('restart')) return undefined;
      if (host === 'mw1002') return { exitCode: 1 };
      await ticks(5);
      return undefined;
    };
    const result = await h.run();
    expect(result.exitCode).toBe(1);
    expect(result.budgetExceeded).toBe(true);
    const outcome = Object.fromEntries(result.hosts.map((x) => [x.host, x.outcome]));
    expect(outcome['mw1002']).toBe('failed');
    // Nothing is left half-done: every host dispatched ended done or failed, the rest never started.
    const dispatched = new Set(h.names('host.dispatched'));
    for (const x of result.hosts)
      expect(x.outcome, x.host).toBe(
        dispatched.has(x.host) ? (x.host === 'mw1002' ? 'failed' : 'done') : 'not-started',
      );
    expect(result.hosts.filter((x) => x.outcome === 'not-started').length).toBeGreaterThan(0);
    expect(h.events.some((e) => e.event === 'run.warning' && /no new hosts will start/.test(e.message))).toBe(true);
  });

  it('brakes an emergency once the last W hosts to complete all failed their health check', async () => {
    const h = await harness(fleet().cluster('appserver', 8, { batch: 2, minPooled: 0 }).build());
    h.health = () => ({ ok: false, detail: 'HTTP 500' });
    const result = await h.run({ emergency: true });
    expect(result.exitCode).toBe(1);
    expect(result.budgetExceeded).toBe(true);
    expect(result.hosts.filter((x) => x.outcome === 'failed').length).toBeLessThanOrEqual(3);
    expect(
      h.events.some(
        (e) => e.event === 'run.warning' && /emergency brake: the last 2 host\(s\) of appserver@eqiad/.test(e.message),
      ),
    ).toBe(true);
  });

  it('does not brake an emergency while healthy hosts complete between the failed ones', async () => {
    const h = await harness(fleet().cluster('appserver', 8, { batch: 2, minPooled: 0 }).build());
    h.health = (host) =>
      ['mw1001', 'mw1003', 'mw1005'].includes(host.name) ? { ok: false, detail: 'HTTP 500' } : undefined;
    const result = await h.run({ emergency: true });
    expect(result.budgetExceeded).toBe(false);
    expect(result.hosts.filter((x) => x.outcome === 'done')).toHaveLength(5);
  });

  it('asks steering before every dispatch, and starts nothing more once it says stop', async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2, minPooled: 0 }).build());
    let asked = 0;
    const result = await h.run({
      steering: { paced: false, beforeDispatch: async () => (++asked <= 2 ? 'go' : 'stop') },
    });
    expect(asked).toBe(3);
    const started = result.hosts.filter((x) => x.outcome !== 'not-started');
    expect(started.length).toBeGreaterThan(0);
    expect(started.every((x) => x.outcome === 'done')).toBe(true);
    expect(result.hosts.filter((x) => x.outcome === 'not-started').length).toBeGreaterThan(0);
  });

  it('on a soft stop starts nothing new and finishes the hosts in flight, repooled', async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2, minPooled: 0 }).build());
    const stop = new AbortController();
    h.exec = (host, command) => {
      if (host === 'mw1002' && command.includes('restart')) stop.abort('SIGINT');
      return undefined;
    };
    const result = await h.run({ stop: stop.signal });
    expect(result.exitCode).toBe(130);
    for (const host of ['mw1001', 'mw1002', 'mw1003', 'mw1004', 'mw1005', 'mw1006'])
      expect((await h.value(host))?.['pooled'], host).toBe('yes');
    expect(result.hosts.find((x) => x.host === 'mw1002')?.outcome).toBe('done');
    expect(result.hosts.find((x) => x.host === 'mw1006')?.outcome).toBe('not-started');
  });

  it('waits for its own hosts to come back when others took the capacity, instead of giving up', async () => {
    // 6 hosts, at least 4 pooled: 2 may be out; someone else depools mw1006 mid-run, so only 1 fits for a while.
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2, minPooled: 4 }).build());
    const most = watchOut(h);
    let taken = false;
    h.exec = async (host, command) => {
      if (taken || !command.includes('restart') || host !== 'mw1001') return;
      taken = true;
      const { poolKeyPath } = await import('../../../src/pool/store.js');
      await h.kv.put(
        poolKeyPath('/conftool/v1/pools', h.keyOf('mw1006')),
        JSON.stringify({ pooled: 'no', weight: 10 }),
      );
    };
    const result = await h.run({ capacityWaitSeconds: 0 });
    expect(result.hosts.filter((x) => x.host !== 'mw1006').map((x) => x.outcome)).toEqual(Array(5).fill('done'));
    expect(most.depooled).toBeLessThanOrEqual(2);
  });
});

describe('the cost of a dispatch', () => {
  it('reuses the cluster read of the last second instead of reading the cluster for every dispatch', async () => {
    const h = await harness(fleet().cluster('appserver', 20, { batch: 2, minPooled: 0 }).build());
    let reads = 0;
    const read = h.pool.read.bind(h.pool);
    Object.assign(h.pool, { read: async (...args: Parameters<typeof read>) => ((reads += 1), read(...args)) });
    h.exec = async () => void (await ticks(3));
    const result = await h.run({ emergency: true });
    expect(result.exitCode).toBe(0);
    // The fake clock stands still: one read serves every dispatch (the plan's read is the harness's own).
    expect(reads).toBe(2);
    expect(h.names('host.dispatched')).toHaveLength(20);
  });
});

describe('the canary in window mode', () => {
  it('runs the canary batch as a barrier first, then opens the window', async () => {
    const built = fleet().cluster('appserver', 6, { batch: 2, minPooled: 0 }).build();
    const cluster = built.inventory.datacenters[0]?.clusters[0];
    if (!cluster) throw new Error('no cluster');
    const canary = {
      batch: { kind: 'count', value: 1 },
      soakSeconds: 5,
      gate: { haproxyStats: undefined, command: 'true', url: undefined, timeoutSeconds: 5 },
    } as const;
    Object.assign(cluster, { settings: { ...cluster.settings, canary } });
    const h = await harness(built);
    h.extraDeps = {
      canary: {
        backendCounts: async () => ({ backend: { responses: 0, errors5xx: 0 }, servers: new Map() }),
        runLocal: async () => ({ exitCode: 0, output: '' }),
        get: async () => ({ status: 200, body: '' }),
      },
    };
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    const seen = h.events.map((e) => `${e.event}${'host' in e ? ` ${e.host}` : ''}`);
    expect(seen.filter((e) => e.startsWith('batch.started'))).toHaveLength(1);
    const passed = seen.indexOf('canary.passed');
    expect(passed).toBeGreaterThan(seen.indexOf('host.done mw1001'));
    // No host but the canary is dispatched before the gate said go.
    expect(seen.findIndex((e) => e.startsWith('host.dispatched'))).toBeGreaterThan(passed);
    expect(h.names('host.dispatched')).toEqual(['mw1002', 'mw1003', 'mw1004', 'mw1005', 'mw1006']);
  });
});

describe('barrier mode', () => {
  it("keeps today's batches: each batch starts once the slowest host of the one before is done", async () => {
    const h = await harness(fleet().cluster('appserver', 6, { batch: 2, minPooled: 0 }).build());
    h.exec = async (host) => void (host === 'mw1001' && (await ticks(200)));
    const result = await h.run({ batchMode: 'barrier' });
    expect(result.exitCode).toBe(0);
    expect(h.names('host.dispatched')).toEqual([]);
    expect(h.names('host.done').slice(0, 2)).toEqual(['mw1002', 'mw1001']);
    expect(h.events.filter((e) => e.event === 'batch.started')).toHaveLength(3);
  });
});
