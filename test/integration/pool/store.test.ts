import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import type { Kv } from '../../../src/kv/kv.js';
import { createPoolStore } from '../../../src/pool/store.js';
import { poolKeyId } from '../../../src/pool/types.js';
import { startEtcd } from '../../support/etcd.js';
import type { TestEtcd } from '../../support/etcd.js';
import { etcdSettings, etcdctl } from '../../support/etcd-settings.js';

const prefix = '/conftool/v1/pools';
const key = { dc: 'eqiad', cluster: 'appserver', service: 'apache2', host: 'mw1001.eqiad.wmnet' };
const path = `${prefix}/eqiad/appserver/apache2/mw1001.eqiad.wmnet`;

let etcd: TestEtcd;
let a: Kv;
let b: Kv;
beforeAll(async () => {
  etcd = await startEtcd();
  [a, b] = [await connectEtcd(etcdSettings(etcd.endpoint)), await connectEtcd(etcdSettings(etcd.endpoint))];
});
afterAll(async () => {
  await a.close();
  await b.close();
  await etcd.stop();
});

describe('pool store on a real etcd', () => {
  it('reads what conftool wrote and writes back keeping the fields it does not know', async () => {
    etcdctl(etcd.endpoint, 'put', path, '{"pooled": "yes", "weight": 10, "comment": "canary"}');
    const store = createPoolStore(a, prefix);
    const entry = (await store.read([key])).get(poolKeyId(key));
    expect(entry).toMatchObject({ state: 'present', value: { pooled: 'yes', weight: 10, comment: 'canary' } });
    if (entry === undefined) return;
    await store.write(entry, { pooled: 'no' });
    expect(JSON.parse(etcdctl(etcd.endpoint, 'get', '--print-value-only', path))).toEqual({
      pooled: 'no',
      weight: 10,
      comment: 'canary',
    });
  });

  it('lets one of two clients racing on the same read win and the other get E_POOL_CONFLICT', async () => {
    etcdctl(etcd.endpoint, 'put', path, '{"pooled": "yes", "weight": 10}');
    const [storeA, storeB] = [createPoolStore(a, prefix), createPoolStore(b, prefix)];
    const [readA, readB] = [
      (await storeA.read([key])).get(poolKeyId(key)),
      (await storeB.read([key])).get(poolKeyId(key)),
    ];
    if (readA === undefined || readB === undefined) throw new Error('not read');
    const results = await Promise.allSettled([
      storeA.write(readA, { pooled: 'no' }),
      storeB.write(readB, { pooled: 'inactive' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(isRolloutError(lost?.status === 'rejected' ? lost.reason : null, 'E_POOL_CONFLICT')).toBe(true);
    expect((lost as PromiseRejectedResult).reason.message).toContain(path);
  });

  it('sees a value someone changed after the read as a conflict, never overwriting it', async () => {
    etcdctl(etcd.endpoint, 'put', path, '{"pooled": "yes", "weight": 10}');
    const store = createPoolStore(a, prefix);
    const entry = (await store.read([key])).get(poolKeyId(key));
    etcdctl(etcd.endpoint, 'put', path, '{"pooled": "no", "weight": 10}'); // an operator depools meanwhile
    if (entry === undefined) throw new Error('not read');
    await expect(store.write(entry, { weight: 5 })).rejects.toMatchObject({ code: 'E_POOL_CONFLICT', key: path });
    expect(JSON.parse(etcdctl(etcd.endpoint, 'get', '--print-value-only', path))).toEqual({ pooled: 'no', weight: 10 });
  });

  it('reports a malformed value and refuses to write it', async () => {
    etcdctl(etcd.endpoint, 'put', path, '{"pooled": "sometimes", "weight": 10}');
    const store = createPoolStore(a, prefix);
    const entry = (await store.read([key])).get(poolKeyId(key));
    expect(entry).toMatchObject({ state: 'malformed' });
    if (entry === undefined) throw new Error('not read');
    await expect(store.write(entry, { pooled: 'yes' })).rejects.toMatchObject({ code: 'E_POOL_VALUE' });
  });
});
