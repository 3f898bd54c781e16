import { describe, expect, it } from 'vitest';
import { clearManual, pruneManual, readManual, recordManual } from '../../../src/pool/manual.js';
import { createPoolStore, poolKeyPath } from '../../../src/pool/store.js';
import type { ManualRecord } from '../../../src/pool/manual.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';

const key = { dc: 'eqiad', cluster: 'appserver', service: 'apache2', host: 'mw1001' };
const record: ManualRecord = {
  action: 'depool',
  user: 'alice',
  machine: 'deploy1',
  reason: 'T12345 disk',
  time: '2026-11-24T19:00:00.000Z',
  revision: 42,
};

describe('manual pool records', () => {
  it('stores a record per host and reads it back keyed by pool key id', async () => {
    const kv = createMemoryKv();
    await recordManual(kv, key, record);
    expect(await kv.get('/rollout/v1/manual/eqiad/appserver/apache2/mw1001')).not.toBeNull();
    expect(await readManual(kv)).toEqual(new Map([['eqiad/appserver/apache2/mw1001', { ...record, key }]]));
  });

  it('keeps only the latest record of a host', async () => {
    const kv = createMemoryKv();
    await recordManual(kv, key, record);
    await recordManual(kv, key, { ...record, action: 'pool', revision: 50 });
    expect((await readManual(kv)).get('eqiad/appserver/apache2/mw1001')).toMatchObject({
      action: 'pool',
      revision: 50,
    });
  });

  it('skips records it cannot read and keys that are not host paths', async () => {
    const kv = createMemoryKv();
    await kv.put('/rollout/v1/manual/eqiad/appserver/apache2/mw1', 'garbage');
    await kv.put('/rollout/v1/manual/eqiad/appserver/mw2', JSON.stringify(record));
    await kv.put('/rollout/v1/manual/eqiad/appserver/apache2/mw3', JSON.stringify({ ...record, action: 'drain' }));
    expect((await readManual(kv)).size).toBe(0);
  });

  it('clears a host record', async () => {
    const kv = createMemoryKv();
    await recordManual(kv, key, record);
    expect(await clearManual(kv, key)).toBe(true);
    expect((await readManual(kv)).size).toBe(0);
  });

  it('prunes the records of a cluster whose pool key changed since, keeping the current ones', async () => {
    const kv = createMemoryKv();
    const pool = createPoolStore(kv, '/conftool/v1/pools');
    const other = { ...key, host: 'mw1002' };
    const first = await kv.put(poolKeyPath('/conftool/v1/pools', key), '{"pooled":"no","weight":10}');
    const second = await kv.put(poolKeyPath('/conftool/v1/pools', other), '{"pooled":"no","weight":10}');
    await recordManual(kv, key, { ...record, revision: first });
    await recordManual(kv, other, { ...record, revision: second });
    await kv.put(poolKeyPath('/conftool/v1/pools', key), '{"pooled":"yes","weight":10}');
    expect(await pruneManual(pool, 'eqiad', 'appserver')).toBe(1);
    expect([...(await readManual(kv)).keys()]).toEqual(['eqiad/appserver/apache2/mw1002']);
  });
});
