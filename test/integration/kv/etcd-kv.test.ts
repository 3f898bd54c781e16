import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { kvContract } from '../../contract/kv.contract.js';
import { startEtcd } from '../../support/etcd.js';
import type { TestEtcd } from '../../support/etcd.js';
import { etcdSettings, etcdctl } from '../../support/etcd-settings.js';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd.stop();
});

kvContract('etcd', async () => {
  const kv = await connectEtcd(etcdSettings(etcd.endpoint));
  return {
    kv,
    // Why: revoking behind the client's back is what etcd does when the holder's lease runs out.
    expire: async (lease) => void etcdctl(etcd.endpoint, 'lease', 'revoke', BigInt(lease.id).toString(16)),
    compact: async () => void etcdctl(etcd.endpoint, 'compaction', String(await kv.revision())),
    close: () => kv.close(),
  };
});

describe('etcd kv connection', () => {
  it('fails with E_ETCD_UNREACHABLE naming the endpoint when nothing listens', async () => {
    const error = await connectEtcd(etcdSettings('http://127.0.0.1:9'), {}).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_ETCD_UNREACHABLE')).toBe(true);
    expect((error as Error).message).toMatch(
      /^etcd unreachable at http:\/\/127\.0\.0\.1:9 \(.+\): check etcd\.endpoints \/ --etcd$/,
    );
  }, 20_000);

  it('uses the endpoints given as an option over the settings', async () => {
    const kv = await connectEtcd(etcdSettings('http://127.0.0.1:9'), { endpoints: [etcd.endpoint] });
    expect(await kv.revision()).toBeGreaterThan(0);
    await kv.close();
  });

  it('refuses a username without the password variable and never names a password', async () => {
    const error = await connectEtcd(etcdSettings(etcd.endpoint, { username: 'root', passwordEnv: 'ROLLOUT_TEST_PW' }), {
      env: {},
    }).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_INVENTORY')).toBe(true);
    expect((error as Error).message).toContain('ROLLOUT_TEST_PW');
  });
});

describe('etcd kv when etcd goes away mid-use', () => {
  it('fails calls with E_ETCD_UNREACHABLE after etcd stops, tells watches to resync and leases they are lost', async () => {
    const own = await startEtcd();
    try {
      const kv = await connectEtcd(etcdSettings(own.endpoint));
      await kv.put('/mid/a', '1');
      const resyncs: string[] = [];
      await kv.watch('/mid/', await kv.revision(), { onEvent: () => {}, onResync: (r) => resyncs.push(r) });
      const lease = await kv.grantLease(2);
      const lost: Error[] = [];
      lease.onLost((e) => lost.push(e));
      await own.stop();
      const error = await kv.get('/mid/a').catch((e: unknown) => e);
      expect(isRolloutError(error, 'E_ETCD_UNREACHABLE')).toBe(true);
      expect((error as Error).message).toContain(own.endpoint);
      for (let i = 0; i < 100 && (lost.length === 0 || resyncs.length === 0); i += 1)
        await new Promise((r) => setTimeout(r, 100));
      expect(resyncs).toHaveLength(1);
      expect(lost).toHaveLength(1);
      await kv.close();
    } finally {
      await own.stop();
    }
  }, 30_000);

  it('gives up on a frozen etcd at the dial deadline instead of hanging', async () => {
    const own = await startEtcd();
    try {
      const kv = await connectEtcd(etcdSettings(own.endpoint, { dialTimeoutSeconds: 1 }));
      own.kill('SIGSTOP');
      const error = await kv.put('/frozen/a', '1', { expectModRevision: 0 }).catch((e: unknown) => e);
      expect(isRolloutError(error, 'E_ETCD_UNREACHABLE')).toBe(true);
      await kv.close();
    } finally {
      own.kill('SIGCONT');
      await own.stop();
    }
  }, 30_000);
});
