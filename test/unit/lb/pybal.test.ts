// PyBal confirmations against the stand-in (test/support/pybal-standin.ts), which follows the pool
// keys of the memory Kv the orchestrator writes, as PyBal follows conftool's: real HTTP, real timers.
import { setMaxListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { withPybal } from '../../../src/lb/confirm-port.js';
import { createMemoryLbConfirmations } from '../../../src/lb/confirm-memory.js';
import { createPybalClient, type PybalClient } from '../../../src/lb/pybal-client.js';
import { createPybalPoller, type PybalPoller } from '../../../src/lb/pybal-poller.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';
import { httpRequest } from '../../../src/net/request.js';
import { fleet, type FleetClusterOptions } from '../../support/fleet.js';
import { startPybalStandin, type PybalStandin } from '../../support/pybal-standin.js';
import { harness, PREFIX } from '../orchestrator/harness.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function setup(size: number, options: FleetClusterOptions, threshold = 0, pybals = 1) {
  const settings = { lb: { confirm: 'pybal' as const, confirmTimeoutSeconds: 2, pybal: undefined } };
  const built = fleet()
    .cluster('appserver', size, { minPooled: 0, ...options, settings: { ...settings, ...options.settings } })
    .build();
  const h = await harness(built);
  const standins: PybalStandin[] = [];
  for (let i = 0; i < pybals; i++) {
    const s = await startPybalStandin({ feed: h.kv, prefix: PREFIX, dc: 'eqiad', depoolThreshold: threshold });
    open.push(s);
    standins.push(s);
  }
  // Why: the URLs are known only once the stand-ins listen; every host gets them, as a datacenter setting would.
  for (const dc of built.inventory.datacenters)
    for (const c of dc.clusters)
      for (const host of c.hosts)
        Object.assign(host.settings, {
          lb: { ...host.settings.lb, pybal: { urls: standins.map((s) => s.url), service: '{service}' } },
        });
  const poller = createPybalPoller({ client: createPybalClient(), requestTimeoutMs: 500 });
  const lb = withPybal(createMemoryLbConfirmations(), poller);
  open.push(lb);
  return { h, standins, lb };
}

describe('lb.confirm: pybal', () => {
  it('confirms a depool when every PyBal shows the host disabled and not pooled, and the repool when enabled', async () => {
    const { h, standins, lb } = await setup(2, { batch: 1 }, 0, 2);
    const result = await h.run({ lb });
    expect(result.exitCode).toBe(0);
    expect(h.names('lb.confirmed')).toEqual(['mw1001', 'mw1002']);
    expect(h.names('lb.repool-confirmed')).toEqual(['mw1001', 'mw1002']);
    const confirmed = h.events.find((e) => e.event === 'lb.confirmed');
    expect(confirmed && 'agents' in confirmed ? confirmed.agents : []).toEqual(
      standins.map((s) => `${s.url}/pools/php-fpm`),
    );
    expect(standins[0]?.state('php-fpm', 'mw1001')).toMatchObject({ enabled: true, pooled: true });
  });

  it("fails a host closed when PyBal's depool threshold keeps it pooled: not restarted, left depooled", async () => {
    // Two of four depooled by hand; minPooled lets one more go; PyBal's threshold 0.5 keeps it in LVS.
    const { h, lb } = await setup(4, { batch: 1, states: ['no', 'no', 'yes', 'yes'], minPooled: 1 }, 0.5);
    const result = await h.run({ lb });
    expect(result.exitCode).toBe(1);
    const failed = result.hosts.find((x) => x.host === 'mw1003');
    expect(failed).toMatchObject({ outcome: 'failed', step: 'lb-confirm', code: 'E_LB_CONFIRM', leftDepooled: true });
    expect(failed?.reason).toMatch(/kept mw1003 pooled \(enabled=false, pooled=true.*depool threshold/);
    // mw1001 and mw1002, depooled by hand, are restarted in place; mw1003 is not restarted.
    expect(h.execs.map((e) => e.host)).not.toContain('mw1003');
    expect((await h.value('mw1003'))?.['pooled']).toBe('no');
  });

  it('counts a host gone from a PyBal pool (404) as depooled', async () => {
    const { h, standins } = await setup(1, { batch: 1 });
    // A second PyBal that follows another etcd view, where mw1001 is inactive: it answers 404 for it.
    const other = createMemoryKv();
    await other.put(`${PREFIX}/eqiad/appserver/php-fpm/mw1001`, JSON.stringify({ pooled: 'inactive', weight: 10 }));
    const gone = await startPybalStandin({ feed: other, prefix: PREFIX, dc: 'eqiad' });
    open.push(gone);
    const absent = await httpRequest({
      method: 'GET',
      url: `${gone.url}/pools/php-fpm/mw1001`,
      headers: { accept: 'application/json' },
      timeoutMs: 2000,
    });
    expect(absent.status).toBe(404);
    const host = h.inventory.datacenters[0]?.clusters[0]?.hosts[0];
    Object.assign(host?.settings.lb ?? {}, { pybal: { urls: [standins[0]?.url, gone.url], service: '{service}' } });
    const lb = withPybal(createMemoryLbConfirmations(), createPybalPoller({ client: createPybalClient() }));
    open.push(lb);
    const result = await h.run({ lb });
    expect(h.names('lb.confirmed')).toEqual(['mw1001']);
    expect(h.execs.map((e) => e.host)).toEqual(['mw1001']);
    // The repool is not confirmed by the PyBal that does not list the host: a warning, not a failure.
    expect(result.exitCode).toBe(0);
    expect(h.events.some((e) => e.event === 'run.warning' && /does not list mw1001/.test(e.message))).toBe(true);
  });

  it('fails a host closed when a PyBal does not answer, naming its URL', async () => {
    const { h, standins, lb } = await setup(2, { batch: 2 }, 0, 2);
    const down = standins[1] as PybalStandin;
    await down.close();
    const result = await h.run({ lb });
    expect(result.exitCode).toBe(1);
    for (const host of result.hosts) {
      expect(host).toMatchObject({ outcome: 'failed', step: 'lb-confirm', leftDepooled: true });
      expect(host.reason).toContain(
        `PyBal ${down.url} did not answer (${down.url}/pools/php-fpm: connect ECONNREFUSED`,
      );
    }
    expect(h.execs).toEqual([]);
  });
});

describe('the PyBal poller', () => {
  it('asks each PyBal once per tick for every host waiting, over one kept-alive connection', async () => {
    const kv = createMemoryKv();
    for (let i = 1; i <= 50; i++)
      await kv.put(`${PREFIX}/eqiad/appserver/php-fpm/mw${1000 + i}`, JSON.stringify({ pooled: 'no', weight: 10 }));
    const standin = await startPybalStandin({ feed: kv, prefix: PREFIX, dc: 'eqiad' });
    open.push(standin);
    const client = createPybalClient();
    let calls = 0;
    const counted: PybalClient = { pool: (...a) => ((calls += 1), client.pool(...a)), close: () => client.close() };
    const poller: PybalPoller = createPybalPoller({ client: counted, tickMs: 20 });
    open.push(poller);
    const signal = new AbortController().signal;
    // Why: 50 waiters on one signal is the point of this test, not a leak.
    setMaxListeners(100, signal);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => poller.next(standin.url, 'php-fpm', signal)));
      expect(answers.every((a) => a.ok && a.hosts.size === 50)).toBe(true);
    }
    expect(calls).toBe(3);
    expect(standin.requests.get('/pools/php-fpm')).toBe(3);
    expect(standin.connections()).toBe(1);
  });
});

describe('the PyBal stand-in', () => {
  it('answers JSON only when the Accept header is exactly application/json, like PyBal', async () => {
    const kv = createMemoryKv();
    await kv.put(`${PREFIX}/eqiad/appserver/php-fpm/mw1001`, JSON.stringify({ pooled: 'no', weight: 10 }));
    const standin = await startPybalStandin({ feed: kv, prefix: PREFIX, dc: 'eqiad' });
    open.push(standin);
    const get = (accept: string) =>
      httpRequest({ method: 'GET', url: `${standin.url}/pools/php-fpm/mw1001`, headers: { accept }, timeoutMs: 2000 });
    expect(JSON.parse((await get('application/json')).text)).toEqual({
      pooled: false,
      weight: 10,
      up: true,
      enabled: false,
    });
    expect((await get('application/json, text/plain')).text).toBe('disabled/up/not pooled\n');
    expect((await get('*/*')).text).toBe('disabled/up/not pooled\n');
  });
});
