// The v2 pool client over TLS with client certificates: the same etcd.ca/cert/key as the v3 client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { connectV2Pool } from '../../../src/pool/etcd-v2-connect.js';
import { poolKeyId, type PoolEntry } from '../../../src/pool/types.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdSettings } from '../../support/etcd-settings.js';

const key = { dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host: 'mw1.eqiad.wmnet' };

describe('poolApi v2 over TLS with client certificates', () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await startEtcd({ tls: true, enableV2: true });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('creates, reads back and CAS-writes a pool key with the CA, client cert and key files', async () => {
    const tls = etcd.tls!;
    const settings = etcdSettings(etcd.endpoint, {
      ca: tls.ca,
      cert: tls.clientCert,
      key: tls.clientKey,
      poolApi: 'v2',
    });
    const connection = await connectV2Pool(await connectEtcd(settings), settings, {});
    try {
      const missing = (await connection.pool.read([key])).get(poolKeyId(key)) as PoolEntry;
      await connection.pool.write(missing, { pooled: 'yes', weight: 10 });
      const created = (await connection.pool.read([key])).get(poolKeyId(key)) as PoolEntry;
      await connection.pool.write(created, { pooled: 'no' });
      expect((await connection.pool.read([key])).get(poolKeyId(key))).toMatchObject({
        state: 'present',
        value: { pooled: 'no', weight: 10 },
      });
    } finally {
      await connection.close();
    }
  });

  it('is refused without a client certificate, with E_ETCD_UNREACHABLE naming the endpoint', async () => {
    const tls = etcd.tls!;
    const withCert = etcdSettings(etcd.endpoint, { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey });
    const error = await connectV2Pool(
      await connectEtcd(withCert),
      etcdSettings(etcd.endpoint, { ca: tls.ca, poolApi: 'v2' }),
      {},
    ).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_ETCD_UNREACHABLE'), String(error)).toBe(true);
    expect((error as Error).message).toContain(etcd.endpoint);
  }, 20_000);
});
