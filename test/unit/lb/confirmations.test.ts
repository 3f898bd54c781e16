// The LB confirmation port: the watch adapter (over the memory Kv, as over etcd) and the memory
// adapter answer alike; the watch adapter costs no request per question once its view is up.
import { describe, expect, it } from 'vitest';
import type { LbConfirmations } from '../../../src/lb/confirm-port.js';
import { createMemoryLbConfirmations } from '../../../src/lb/confirm-memory.js';
import { createWatchedLbConfirmations } from '../../../src/lb/confirm-watch.js';
import { agentKey, appliedKey } from '../../../src/lb/keys.js';
import type { Kv } from '../../../src/kv/kv.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';
import type { PoolKey } from '../../../src/pool/types.js';

const KEY: PoolKey = { dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host: 'mw1001' };
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Driver {
  readonly lb: LbConfirmations;
  register(agent: string, present?: boolean): Promise<void>;
  apply(agent: string, revision: number): Promise<void>;
}

function watched(): Driver & { kv: Kv; calls: () => number } {
  const kv = createMemoryKv();
  let calls = 0;
  // Why: count every request the adapter makes, to show that answers come from the watch.
  const counted = new Proxy(kv, {
    get: (target, prop, receiver) => {
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function'
        ? (...args: unknown[]) => {
            calls += 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          }
        : value;
    },
  });
  return {
    kv,
    calls: () => calls,
    lb: createWatchedLbConfirmations(counted),
    async register(agent, present = true) {
      if (present) await kv.put(agentKey('eqiad', agent), JSON.stringify({ agentId: agent }));
      else await kv.delete(agentKey('eqiad', agent));
      await tick();
    },
    async apply(agent, revision) {
      await kv.put(appliedKey(agent, KEY), JSON.stringify({ revision, pooled: 'no', weight: 10, appliedAt: '' }));
      await tick();
    },
  };
}

function memory(): Driver {
  const lb = createMemoryLbConfirmations();
  return {
    lb,
    register: async (agent, present) => lb.register('eqiad', agent, present),
    apply: async (agent, revision) => lb.apply(agent, KEY, revision),
  };
}

describe.each([
  ['watch over a Kv', watched],
  ['memory', memory],
] as const)('LB confirmations (%s)', (_name, make) => {
  it('lists the registered agents and who has not applied a revision yet', async () => {
    const d = make();
    expect(await d.lb.agents('eqiad')).toEqual([]);
    await d.register('lb1');
    await d.register('lb2');
    expect([...(await d.lb.agents('eqiad'))].sort()).toEqual(['lb1', 'lb2']);
    await d.apply('lb1', 7);
    expect(await d.lb.notApplied(KEY, 7, ['lb1', 'lb2'])).toEqual(['lb2']);
    await d.apply('lb2', 9);
    expect(await d.lb.notApplied(KEY, 7, ['lb1', 'lb2'])).toEqual([]);
    expect(await d.lb.notApplied(KEY, 8, ['lb1', 'lb2'])).toEqual(['lb1']);
    await d.register('lb2', false);
    expect(await d.lb.agents('eqiad')).toEqual(['lb1']);
    await d.lb.close();
  });

  it('wakes a waiter when an agent applies, and on abort', async () => {
    const d = make();
    await d.register('lb1');
    await d.lb.agents('eqiad');
    let woke = false;
    const waiting = d.lb.changed('eqiad', new AbortController().signal).then(() => {
      woke = true;
    });
    await tick();
    expect(woke).toBe(false);
    await d.apply('lb1', 3);
    await waiting;
    expect(woke).toBe(true);
    const stop = new AbortController();
    const aborted = d.lb.changed('eqiad', stop.signal);
    stop.abort();
    await aborted;
    await d.lb.close();
  });
});

describe('the watch adapter', () => {
  it('answers from its view: one list and one watch per datacenter, however many questions', async () => {
    const d = watched();
    await d.register('lb1');
    await d.apply('lb1', 5);
    for (let i = 0; i < 50; i += 1) {
      await d.lb.agents('eqiad');
      await d.lb.notApplied(KEY, 5, ['lb1']);
    }
    expect(d.calls()).toBe(2);
    await d.lb.close();
  });

  it('reads the datacenter afresh after its watch had to resynchronise (compaction)', async () => {
    const d = watched();
    await d.register('lb1');
    expect(await d.lb.notApplied(KEY, 4, ['lb1'])).toEqual(['lb1']);
    const kv = d.kv as ReturnType<typeof createMemoryKv>;
    kv.compact(await kv.revision());
    await tick();
    await d.apply('lb1', 4);
    expect(await d.lb.notApplied(KEY, 4, ['lb1'])).toEqual([]);
    expect(d.calls()).toBeGreaterThan(2);
    await d.lb.close();
  });
});
