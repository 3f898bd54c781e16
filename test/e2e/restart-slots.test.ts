import { describe, expect, it } from 'vitest';
import { listSlots } from '../../src/coordination/semaphore.js';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, exitOf, pids, rollout, spawnRollout, until } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

// Two clusters of one datacenter and one service: the default scope (datacenter, service) is shared by both.
const fx = useSandbox(
  'slots',
  {
    dcs: ['eqiad'],
    clusters: ['appserver', 'api_appserver'],
    hostsPerCluster: 4,
    net: NETS.guards,
    sshBasePort: 2750,
    release: 'r1',
  },
  (doc) => {
    // Why: batches of 2 and a 3 s drain: each run alone would depool 2 hosts for seconds, so the two overlap.
    doc.setIn(['defaults', 'batch'], doc.createNode({ size: 2 }));
    doc.setIn(['defaults', 'drain'], doc.createNode({ mode: 'fixed', seconds: 3 }));
  },
);

/** Samples, until stopped, how many pool keys of eqiad are depooled and how many restart slots are granted. */
function sampler(): { stop(): Promise<{ maxDepooled: number; maxSlots: number; samples: number }> } {
  let running = true;
  let maxDepooled = 0;
  let maxSlots = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const [pool, slots] = await Promise.all([fx.kv.list('/conftool/v1/pools/eqiad/'), listSlots(fx.kv)]);
      maxDepooled = Math.max(
        maxDepooled,
        pool.filter((e) => (JSON.parse(e.value) as { pooled: string }).pooled === 'no').length,
      );
      // Granted requests only: a waiting one has its key in the queue too.
      maxSlots = Math.max(
        maxSlots,
        [...slots.values()]
          .flat()
          .filter((e) => e.granted)
          .reduce((n, e) => n + e.weight, 0),
      );
      samples += 1;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { stop: async () => ((running = false), await loop, { maxDepooled, maxSlots, samples }) };
}

describe('the fleet-wide restart cap across runs', () => {
  it('two concurrent restarts of two clusters of one datacenter with --max-concurrency 2 never have more than 2 hosts depooled together', async () => {
    const before = await pids(fx.sandbox);
    const sample = sampler();
    const a = spawnRollout(['restart', 'appserver', 'eqiad', '--max-concurrency', '2', '--json'], fx.inventory);
    const b = spawnRollout(['restart', 'api_appserver', 'eqiad', '--max-concurrency', '2', '--json'], fx.inventory);
    const out = { a: '', b: '' };
    a.stdout?.on('data', (d: Buffer) => (out.a += d.toString()));
    b.stdout?.on('data', (d: Buffer) => (out.b += d.toString()));
    // While one run waits, `rollout status` shows who holds the slots.
    await until('a run waiting for a restart slot', async () => `${out.a}${out.b}`.includes('"slot.waiting"'), 60_000);
    const status = await rollout(['status'], fx.inventory);
    const [codeA, codeB] = await Promise.all([exitOf(a), exitOf(b)]);
    const measured = await sample.stop();
    expect(codeA).toBe(0);
    expect(codeB).toBe(0);
    expect(measured.samples).toBeGreaterThan(10);
    expect(measured.maxDepooled).toBe(2);
    expect(measured.maxSlots).toBeLessThanOrEqual(2);
    // Why: in a window a run may ask for 2 slots while the other holds 1 (its other host done): it waits with 1 of 2 held.
    expect(status.stdout).toMatch(/restart slots dc-service\/eqiad\/php-fpm: [12]\/2 held/);
    const waiting = [...events(out.a), ...events(out.b)].filter((e) => e.event === 'slot.waiting');
    expect(waiting[0]).toMatchObject({ scope: 'dc-service/eqiad/php-fpm', limit: 2 });
    expect(waiting[0]?.['held']).toBeGreaterThanOrEqual(1);
    const after = await pids(fx.sandbox);
    for (const h of fx.sandbox.hosts) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
    expect(await fx.kv.list('/rollout/v1/slots/')).toEqual([]);
    process.stdout.write(
      `restart slots e2e: max ${measured.maxDepooled} depooled, max ${measured.maxSlots} slots over ${measured.samples} samples\n`,
    );
  }, 240_000);

  it('refuses --max-concurrency 0 with exit 2 and changes nothing', async () => {
    const r = await rollout(['restart', 'appserver', 'eqiad', '--max-concurrency', '0'], fx.inventory);
    expectExit(r, 2);
    expect(r.stderr).toContain('--max-concurrency: expected a whole number of hosts from 1 to 100000, got "0"');
    expect(await fx.kv.list('/rollout/v1/slots/')).toEqual([]);
  }, 60_000);
});
