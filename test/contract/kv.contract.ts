import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../src/errors.js';
import type { Kv, Lease, WatchEvent } from '../../src/kv/kv.js';

/** What the contract needs from an adapter under test. */
export interface KvHarness {
  readonly kv: Kv;
  /** Makes the lease end as if its holder died (memory: expire hook; etcd: revoked behind the client's back). */
  expire(lease: Lease): Promise<void>;
  /** Compacts the store's history up to its current revision. */
  compact(): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;

/** One behaviour suite for every Kv adapter: memory-kv and etcd-kv must both pass it. */
export function kvContract(name: string, setup: () => Promise<KvHarness>): void {
  describe(`Kv contract: ${name}`, () => {
    let h: KvHarness;
    let kv: Kv;
    let p: string; // a fresh prefix per test, so tests can share one etcd

    beforeEach(async () => {
      h = await setup();
      kv = h.kv;
      counter += 1;
      p = `/contract/${process.pid}-${Date.now()}-${counter}/`;
    });
    afterEach(async () => {
      await h.close();
    });

    async function conflictOf(promise: Promise<unknown>): Promise<string> {
      const error = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(isRolloutError(error, 'E_POOL_CONFLICT')).toBe(true);
      return (error as Error).message;
    }

    function collector(): { events: WatchEvent[]; resyncs: string[]; until(n: number): Promise<void> } {
      const events: WatchEvent[] = [];
      const resyncs: string[] = [];
      return {
        events,
        resyncs,
        async until(n) {
          for (let i = 0; i < 500 && events.length + resyncs.length < n; i += 1)
            await new Promise((r) => setTimeout(r, 10));
        },
      };
    }

    it('returns null for a key that does not exist', async () => {
      expect(await kv.get(`${p}nothing`)).toBeNull();
    });

    it('stores a value and reports the revision that wrote it', async () => {
      const before = await kv.revision();
      const rev = await kv.put(`${p}a`, 'one');
      expect(rev).toBeGreaterThan(before);
      expect(await kv.revision()).toBe(rev);
      expect(await kv.get(`${p}a`)).toEqual({
        key: `${p}a`,
        value: 'one',
        modRevision: rev,
        createRevision: rev,
        lease: undefined,
      });
    });

    it('keeps the create revision and moves the mod revision on overwrite', async () => {
      const first = await kv.put(`${p}a`, 'one');
      const second = await kv.put(`${p}a`, 'two');
      expect(second).toBeGreaterThan(first);
      expect(await kv.get(`${p}a`)).toMatchObject({ value: 'two', modRevision: second, createRevision: first });
    });

    it('lists every key under a prefix sorted by key, and nothing outside it', async () => {
      await kv.put(`${p}b/2`, 'x');
      await kv.put(`${p}a/1`, 'y');
      await kv.put(`${p}b/1`, 'z');
      await kv.put(`${p}bb`, 'outside');
      expect((await kv.list(`${p}b/`)).map((e) => [e.key, e.value])).toEqual([
        [`${p}b/1`, 'z'],
        [`${p}b/2`, 'x'],
      ]);
      expect(await kv.list(`${p}none/`)).toEqual([]);
    });

    it('writes when the expected revision matches and refuses with E_POOL_CONFLICT when it does not', async () => {
      const rev = await kv.put(`${p}a`, 'one');
      const next = await kv.put(`${p}a`, 'two', { expectModRevision: rev });
      const message = await conflictOf(kv.put(`${p}a`, 'three', { expectModRevision: rev }));
      expect(message).toContain(`${p}a`);
      expect(message).toContain(`expected revision ${rev}, found ${next}`);
      expect((await kv.get(`${p}a`))?.value).toBe('two');
    });

    it('creates only when absent with expected revision 0', async () => {
      await kv.put(`${p}new`, 'first', { expectModRevision: 0 });
      await conflictOf(kv.put(`${p}new`, 'second', { expectModRevision: 0 }));
      expect((await kv.get(`${p}new`))?.value).toBe('first');
    });

    it('refuses a compare against a key that has since been deleted', async () => {
      const rev = await kv.put(`${p}gone`, 'x');
      await kv.delete(`${p}gone`);
      const message = await conflictOf(kv.put(`${p}gone`, 'y', { expectModRevision: rev }));
      expect(message).toContain('found 0');
      expect(await kv.get(`${p}gone`)).toBeNull();
    });

    it('lists more keys than one page holds, all of them, in key order', async () => {
      const keys = Array.from({ length: 1234 }, (_, i) => `${p}many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 200) await Promise.all(keys.slice(i, i + 200).map((k) => kv.put(k, 'x')));
      const listed = await kv.list(`${p}many/`);
      expect(listed.map((e) => e.key)).toEqual(keys);
      expect((await kv.range(`${p}many/`)).entries).toHaveLength(1234);
    }, 60_000);

    it('lists a range with the revision it was read at', async () => {
      await kv.put(`${p}r/a`, '1');
      const last = await kv.put(`${p}r/b`, '2');
      const range = await kv.range(`${p}r/`);
      expect(range.entries.map((e) => e.key)).toEqual([`${p}r/a`, `${p}r/b`]);
      expect(range.revision).toBeGreaterThanOrEqual(last);
    });

    it('applies every put of a transaction at one revision when its keys and prefixes are unchanged', async () => {
      const a = await kv.put(`${p}c/a`, 'yes');
      await kv.put(`${p}c/b`, 'yes');
      const read = await kv.range(`${p}c/`);
      const rev = await kv.txn(
        {
          keys: [
            { key: `${p}c/a`, modRevision: a },
            { key: `${p}c/new`, modRevision: 0 },
          ],
          unchangedSince: [{ prefix: `${p}c/`, revision: read.revision }],
        },
        [
          { key: `${p}c/a`, value: 'no' },
          { key: `${p}c/new`, value: 'created' },
          { key: `${p}elsewhere`, value: 'x' },
        ],
      );
      expect([
        (await kv.get(`${p}c/a`))?.modRevision,
        (await kv.get(`${p}c/new`))?.modRevision,
        (await kv.get(`${p}elsewhere`))?.modRevision,
      ]).toEqual([rev, rev, rev]);
      expect((await kv.get(`${p}c/a`))?.value).toBe('no');
    });

    it('writes nothing and throws E_POOL_CONFLICT when any key under a compared prefix was put or created since the read', async () => {
      await kv.put(`${p}c/a`, 'yes');
      const read = await kv.range(`${p}c/`);
      await kv.put(`${p}c/z`, 'created by someone else');
      await conflictOf(
        kv.txn({ unchangedSince: [{ prefix: `${p}c/`, revision: read.revision }] }, [{ key: `${p}c/a`, value: 'no' }]),
      );
      expect((await kv.get(`${p}c/a`))?.value).toBe('yes');
      const again = await kv.range(`${p}c/`);
      await kv.put(`${p}c/a`, 'changed');
      await conflictOf(
        kv.txn({ unchangedSince: [{ prefix: `${p}c/`, revision: again.revision }] }, [
          { key: `${p}other`, value: 'x' },
        ]),
      );
      expect(await kv.get(`${p}other`)).toBeNull();
    });

    it('writes nothing when one of its exact key revisions no longer holds', async () => {
      const a = await kv.put(`${p}k/a`, '1');
      const b = await kv.put(`${p}k/b`, '1');
      await kv.put(`${p}k/b`, '2');
      await conflictOf(
        kv.txn(
          {
            keys: [
              { key: `${p}k/a`, modRevision: a },
              { key: `${p}k/b`, modRevision: b },
            ],
          },
          [{ key: `${p}k/a`, value: 'x' }],
        ),
      );
      expect((await kv.get(`${p}k/a`))?.value).toBe('1');
    });

    it('deletes a key, says whether one was deleted, and honours an expected revision', async () => {
      const rev = await kv.put(`${p}a`, 'one');
      await conflictOf(kv.delete(`${p}a`, { expectModRevision: rev + 100 }));
      expect(await kv.get(`${p}a`)).not.toBeNull();
      expect(await kv.delete(`${p}a`, { expectModRevision: rev })).toBe(true);
      expect(await kv.delete(`${p}a`)).toBe(false);
      expect(await kv.get(`${p}a`)).toBeNull();
    });

    it('deletes the keys bound to a lease when it is revoked', async () => {
      const lease = await kv.grantLease(10);
      await kv.put(`${p}bound`, 'x', { lease });
      await kv.put(`${p}free`, 'y');
      expect((await kv.get(`${p}bound`))?.lease).toBe(lease.id);
      await lease.revoke();
      expect(await kv.get(`${p}bound`)).toBeNull();
      expect(await kv.get(`${p}free`)).not.toBeNull();
    });

    it('deletes the keys bound to a lease that expires and tells the holder it was lost', async () => {
      const lease = await kv.grantLease(10);
      const lost: Error[] = [];
      lease.onLost((e) => lost.push(e));
      await kv.put(`${p}bound`, 'x', { lease });
      await h.expire(lease);
      expect(await kv.get(`${p}bound`)).toBeNull();
      for (let i = 0; i < 200 && lost.length === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
      expect(lost).toHaveLength(1);
    }, 30_000);

    it('refuses to bind a key to a lease that has gone, and revoking it again is harmless', async () => {
      const lease = await kv.grantLease(10);
      await h.expire(lease);
      await expect(kv.put(`${p}late`, 'x', { lease })).rejects.toThrow(/has expired or was revoked/);
      expect(await kv.get(`${p}late`)).toBeNull();
      await lease.revoke();
    });

    it('watches puts and deletes under a prefix in revision order, from after a given revision', async () => {
      const start = await kv.put(`${p}w/before`, 'old');
      const c = collector();
      const watch = await kv.watch(`${p}w/`, start, {
        onEvent: (e) => c.events.push(e),
        onResync: (r) => c.resyncs.push(r),
      });
      const r1 = await kv.put(`${p}w/a`, '1');
      await kv.put(`${p}elsewhere`, 'ignored');
      const r2 = await kv.put(`${p}w/a`, '2');
      await kv.delete(`${p}w/a`);
      await c.until(3);
      await watch.close();
      expect(c.resyncs).toEqual([]);
      expect(
        c.events.map((e) =>
          e.type === 'put' ? ['put', e.entry.key, e.entry.value, e.entry.modRevision] : ['delete', e.key],
        ),
      ).toEqual([
        ['put', `${p}w/a`, '1', r1],
        ['put', `${p}w/a`, '2', r2],
        ['delete', `${p}w/a`],
      ]);
      const del = c.events[2];
      expect(del?.type === 'delete' && del.modRevision).toBeGreaterThan(r2);
    });

    it('replays the history after fromRevision to a watch opened later', async () => {
      const r1 = await kv.put(`${p}h/a`, '1');
      const r2 = await kv.put(`${p}h/b`, '2');
      const c = collector();
      const watch = await kv.watch(`${p}h/`, r1 - 1, {
        onEvent: (e) => c.events.push(e),
        onResync: (r) => c.resyncs.push(r),
      });
      await c.until(2);
      await watch.close();
      expect(c.events.map((e) => (e.type === 'put' ? e.entry.modRevision : -1))).toEqual([r1, r2]);
    });

    it('reports lease expiry to a watch as delete events', async () => {
      const lease = await kv.grantLease(10);
      await kv.put(`${p}l/a`, 'x', { lease });
      const c = collector();
      const watch = await kv.watch(`${p}l/`, await kv.revision(), {
        onEvent: (e) => c.events.push(e),
        onResync: (r) => c.resyncs.push(r),
      });
      await lease.revoke();
      await c.until(1);
      await watch.close();
      expect(c.events.map((e) => e.type)).toEqual(['delete']);
    });

    it('asks for a resync when a watch starts before compacted history', async () => {
      await kv.put(`${p}c/a`, '1');
      await kv.put(`${p}c/a`, '2');
      await kv.put(`${p}c/a`, '3');
      await h.compact();
      const c = collector();
      const watch = await kv.watch(`${p}c/`, 1, {
        onEvent: (e) => c.events.push(e),
        onResync: (r) => c.resyncs.push(r),
      });
      await c.until(1);
      await watch.close();
      expect(c.resyncs).toHaveLength(1);
      expect(c.resyncs[0]).toMatch(/compact/);
    });

    it('stops delivering events after a watch is closed', async () => {
      const c = collector();
      const watch = await kv.watch(`${p}s/`, await kv.revision(), {
        onEvent: (e) => c.events.push(e),
        onResync: (r) => c.resyncs.push(r),
      });
      await watch.close();
      await kv.put(`${p}s/a`, '1');
      await new Promise((r) => setTimeout(r, 200));
      expect(c.events).toEqual([]);
    });
  });
}
