import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';
import { createRestartSlots, listSlots, type SlotHolder, type SlotWait } from '../../../src/coordination/semaphore.js';

const scope = 'dc-service/eqiad/php-fpm';
const holder = (runId: string, hosts: string[], limit = 2): SlotHolder => ({
  runId,
  user: 'alice',
  machine: 'deploy1',
  pid: 1,
  dc: 'eqiad',
  cluster: 'appserver',
  hosts,
  limit,
  since: '2026-12-02T04:00:00.000Z',
});

/** A sleep that only ends on abort: every wake-up must come from the watch, not from polling. */
const watchOnly = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((_resolve, reject) =>
    signal?.addEventListener('abort', () => reject(new Error(`aborted after ${ms}`)), { once: true }),
  );

async function setup() {
  const kv = createMemoryKv({ clock: () => 0 });
  const lease = await kv.grantLease(10);
  return { kv, lease, slots: createRestartSlots(kv, { lease, sleep: watchOnly }) };
}

const never = new AbortController().signal;
const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
  return done;
};

describe('restart slots (etcd semaphore recipe)', () => {
  it('grants requests while they fit in the limit and makes the next one wait until a host gives its slot back', async () => {
    const { kv, slots } = await setup();
    const a = await slots.acquire({ scope, holder: holder('r-a', ['mw1']) }, () => undefined, never);
    await slots.acquire({ scope, holder: holder('r-b', ['mw5']) }, () => undefined, never);
    const waits: SlotWait[] = [];
    const third = slots.acquire({ scope, holder: holder('r-c', ['mw9']) }, (w) => waits.push(w), never);
    expect(await settled(third)).toBe(false);
    expect(waits[0]).toMatchObject({ scope, limit: 2, held: 2, queuedAhead: 0 });
    expect(waits[0]?.holders.map((h) => h.holder?.runId)).toEqual(['r-a', 'r-b']);
    await a.release('mw1');
    expect(await settled(third)).toBe(true);
    const queue = (await listSlots(kv)).get(scope) ?? [];
    expect(queue.map((e) => [e.holder?.runId, e.granted])).toEqual([
      ['r-b', true],
      ['r-c', true],
    ]);
  });

  it('serves requests first come first served: a narrow request never overtakes a wider one queued ahead of it', async () => {
    const { slots } = await setup();
    const a = await slots.acquire({ scope, holder: holder('r-a', ['mw1']) }, () => undefined, never);
    const wide = slots.acquire({ scope, holder: holder('r-b', ['mw5', 'mw6']) }, () => undefined, never);
    const narrow = slots.acquire({ scope, holder: holder('r-c', ['mw9']) }, () => undefined, never);
    // One slot is free and the narrow request would fit, but the wide one asked first.
    expect(await settled(narrow)).toBe(false);
    await a.release('mw1');
    expect(await settled(wide)).toBe(true);
    expect(await settled(narrow)).toBe(false);
    // The wide request gives one host back: one slot each now fits.
    await (await wide).release('mw5');
    expect(await settled(narrow)).toBe(true);
  });

  it('keeps a request as wide as its hosts: the key shrinks host by host and goes with the last one', async () => {
    const { kv, slots } = await setup();
    const grant = await slots.acquire({ scope, holder: holder('r-a', ['mw1', 'mw2']) }, () => undefined, never);
    await grant.release('mw1');
    expect((await listSlots(kv)).get(scope)?.map((e) => [e.holder?.hosts, e.weight])).toEqual([[['mw2'], 1]]);
    await grant.release('mw1');
    await grant.release('mw2');
    expect(await kv.list('/rollout/v1/slots/')).toEqual([]);
  });

  it('frees the slots of a run whose lease expires (a killed run), and the waiting request goes', async () => {
    const { kv, lease, slots } = await setup();
    await slots.acquire({ scope, holder: holder('r-a', ['mw1', 'mw2']) }, () => undefined, never);
    const otherLease = await kv.grantLease(10);
    const other = createRestartSlots(kv, { lease: otherLease, sleep: watchOnly });
    const waiting = other.acquire({ scope, holder: holder('r-b', ['mw5']) }, () => undefined, never);
    expect(await settled(waiting)).toBe(false);
    kv.expire(lease.id);
    expect(await settled(waiting)).toBe(true);
  });

  it('gives up a wait on abort with E_INTERRUPTED and withdraws its request from the queue', async () => {
    const { kv, slots } = await setup();
    await slots.acquire({ scope, holder: holder('r-a', ['mw1', 'mw2']) }, () => undefined, never);
    const stop = new AbortController();
    const waiting = slots
      .acquire({ scope, holder: holder('r-b', ['mw5']) }, () => undefined, stop.signal)
      .catch((e: unknown) => e);
    expect(await settled(waiting)).toBe(false);
    stop.abort('SIGINT');
    expect(isRolloutError(await waiting, 'E_INTERRUPTED')).toBe(true);
    expect((await listSlots(kv)).get(scope)?.map((e) => e.holder?.runId)).toEqual(['r-a']);
  });

  it('keeps scopes apart: a full scope does not hold up another datacenter', async () => {
    const { slots } = await setup();
    await slots.acquire({ scope, holder: holder('r-a', ['mw1', 'mw2']) }, () => undefined, never);
    const codfw = slots.acquire(
      { scope: 'dc-service/codfw/php-fpm', holder: holder('r-b', ['mw5']) },
      () => undefined,
      never,
    );
    expect(await settled(codfw)).toBe(true);
  });
});
