import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';
import { kvContract } from '../../contract/kv.contract.js';

kvContract('memory', async () => {
  const kv = createMemoryKv();
  return {
    kv,
    expire: async (lease) => kv.expire(lease.id),
    compact: async () => kv.compact(await kv.revision()),
    close: () => kv.close(),
  };
});

describe('memory kv test hooks', () => {
  it('fails the next n calls with E_ETCD_UNREACHABLE, then works again', async () => {
    const kv = createMemoryKv();
    kv.failNext(2);
    for (let i = 0; i < 2; i += 1) {
      const error = await kv.get('/a').catch((e: unknown) => e);
      expect(isRolloutError(error, 'E_ETCD_UNREACHABLE')).toBe(true);
    }
    expect(await kv.get('/a')).toBeNull();
  });

  it('fails every call while down', async () => {
    const kv = createMemoryKv();
    kv.setDown(true);
    await expect(kv.put('/a', 'x')).rejects.toMatchObject({ code: 'E_ETCD_UNREACHABLE' });
    await expect(kv.revision()).rejects.toMatchObject({ code: 'E_ETCD_UNREACHABLE' });
    kv.setDown(false);
    expect(await kv.put('/a', 'x')).toBe(2);
  });

  it('ends open watches with a resync when history is compacted', async () => {
    const kv = createMemoryKv();
    const resyncs: string[] = [];
    await kv.watch('/w/', await kv.revision(), { onEvent: () => {}, onResync: (r) => resyncs.push(r) });
    await kv.put('/w/a', '1');
    kv.compact(await kv.revision());
    await new Promise((r) => setTimeout(r, 0));
    expect(resyncs).toEqual(['history compacted up to revision 2']);
  });

  it('refuses to bind a key to an expired lease', async () => {
    const kv = createMemoryKv();
    const lease = await kv.grantLease(10);
    kv.expire(lease.id);
    await expect(kv.put('/a', 'x', { lease })).rejects.toThrow(/expired or was revoked/);
    expect(kv.leases()).toEqual([]);
  });
});
