// The sliding window on the sandbox under load: a host held by a long request does not hold up the others.
import { describe, expect, it } from 'vitest';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, loadAll, pids, rollout } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

const WIDTH = 2;

const fx = useSandbox(
  'window',
  { dcs: ['eqiad'], clusters: ['appserver'], hostsPerCluster: 6, net: NETS.window, sshBasePort: 2810, release: 'r1' },
  (doc) => {
    doc.setIn(['defaults', 'batch'], doc.createNode({ size: WIDTH, mode: 'window' }));
  },
);

/** Samples the cluster's pool keys every 50 ms until stopped: the most hosts ever depooled at once. */
function depoolWatcher(): { stop(): Promise<{ most: number; samples: number }> } {
  let running = true;
  let most = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const keys = await fx.kv.list('/conftool/v1/pools/eqiad/appserver/');
      const out = keys.filter((e) => (JSON.parse(e.value) as { pooled: string }).pooled === 'no').length;
      most = Math.max(most, out);
      samples += 1;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { stop: async () => ((running = false), await loop, { most, samples }) };
}

describe('sync in window mode on the sandbox, under load', () => {
  it('restarts the other hosts while one drains a long request: 0 failed requests, never more than W depooled', async () => {
    const held = fx.sandbox.hosts[0];
    if (!held) throw new Error('no host');
    const before = await pids(fx.sandbox);
    const load = loadAll(fx.sandbox);
    const watcher = depoolWatcher();
    // Why: a request sleeping 10 s on the first host keeps its PHP-FPM busy, so its drain takes seconds.
    const longRequest = fetch(`${held.httpUrl}?sleep=10000`, { signal: AbortSignal.timeout(60_000) }).then(
      async (res) => ({ status: res.status, body: await res.text() }),
    );
    await new Promise((r) => setTimeout(r, 300));
    const result = await rollout(['sync', '--json', '--reason', 'e2e window'], fx.inventory);
    const [traffic, sampled, long] = await Promise.all([load.stop(), watcher.stop(), longRequest]);
    expectExit(result, 0);
    expect(traffic.failed, JSON.stringify(traffic.failures)).toBe(0);
    expect(traffic.ok).toBeGreaterThan(0);
    expect(long.status, long.body).toBe(200);
    expect(sampled.samples).toBeGreaterThan(10);
    expect(sampled.most).toBeGreaterThan(0);
    expect(sampled.most).toBeLessThanOrEqual(WIDTH);
    const evs = events(result.stdout);
    const seen = evs.map((e) => `${String(e['event'])} ${String(e['host'] ?? '')}`);
    // The held host's drain lasted while most of the others went through: they did not wait for it.
    const drainedHeld = seen.indexOf(`host.drained ${held.name}`);
    const othersDone = fx.sandbox.hosts
      .filter((h) => h !== held)
      .filter((h) => seen.indexOf(`host.done ${h.name}`) < drainedHeld);
    console.log(
      `window e2e: ${othersDone.length} of ${fx.sandbox.hosts.length - 1} other hosts done while ${held.name} drained; max ${sampled.most} depooled over ${sampled.samples} samples; ${traffic.ok} requests served, ${traffic.failed} failed`,
    );
    expect(othersDone.length).toBeGreaterThanOrEqual(3);
    // No host was restarted before the LB agents confirmed its depool.
    for (const h of fx.sandbox.hosts) {
      const confirmed = seen.indexOf(`lb.confirmed ${h.name}`);
      expect(confirmed, h.name).toBeGreaterThan(-1);
      expect(confirmed, h.name).toBeLessThan(seen.indexOf(`host.restarted ${h.name}`));
    }
    const widths = evs.filter((e) => e['event'] === 'host.dispatched').map((e) => e['inFlight'] as number);
    expect(Math.max(...widths)).toBeLessThanOrEqual(WIDTH);
    const after = await pids(fx.sandbox);
    for (const h of fx.sandbox.hosts) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
  }, 240_000);
});
