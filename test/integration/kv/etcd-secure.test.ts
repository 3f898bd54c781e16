import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { startEtcd } from '../../support/etcd.js';
import type { TestEtcd } from '../../support/etcd.js';
import { etcdSettings, etcdctl } from '../../support/etcd-settings.js';

describe('etcd kv over TLS with client certificates', () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await startEtcd({ tls: true });
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it('connects with the CA, client cert and key files and reads back what it wrote', async () => {
    const tls = etcd.tls!;
    const kv = await connectEtcd(etcdSettings(etcd.endpoint, { ca: tls.ca, cert: tls.clientCert, key: tls.clientKey }));
    const rev = await kv.put('/tls/a', 'secret-channel');
    expect(await kv.get('/tls/a')).toMatchObject({ value: 'secret-channel', modRevision: rev });
    await kv.close();
  });

  it('is refused without a client certificate, with E_ETCD_UNREACHABLE', async () => {
    const error = await connectEtcd(etcdSettings(etcd.endpoint, { ca: etcd.tls!.ca })).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_ETCD_UNREACHABLE')).toBe(true);
    expect((error as Error).message).toContain(etcd.endpoint);
  }, 20_000);

  it('names the setting when a certificate file cannot be read', async () => {
    const error = await connectEtcd(etcdSettings(etcd.endpoint, { ca: '/nonexistent/ca.crt' })).catch(
      (e: unknown) => e,
    );
    expect(isRolloutError(error, 'E_INVENTORY')).toBe(true);
    expect((error as Error).message).toMatch(/^cannot read etcd\.ca file \/nonexistent\/ca\.crt/);
  });
});

describe('etcd kv with username and password', () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await startEtcd();
    etcdctl(etcd.endpoint, 'user', 'add', 'root', '--new-user-password', 'hunter2-root');
    etcdctl(etcd.endpoint, 'role', 'add', 'root');
    etcdctl(etcd.endpoint, 'user', 'grant-role', 'root', 'root');
    etcdctl(etcd.endpoint, 'auth', 'enable');
  });
  afterAll(async () => {
    await etcd.stop();
  });

  it('authenticates with the password read from the named environment variable', async () => {
    const kv = await connectEtcd(etcdSettings(etcd.endpoint, { username: 'root', passwordEnv: 'ROLLOUT_ETCD_PW' }), {
      env: { ROLLOUT_ETCD_PW: 'hunter2-root' },
    });
    await kv.put('/auth/a', '1');
    expect((await kv.get('/auth/a'))?.value).toBe('1');
    await kv.close();
  });

  it('reports a wrong password as refused access without ever printing the password', async () => {
    const error = await connectEtcd(etcdSettings(etcd.endpoint, { username: 'root', passwordEnv: 'ROLLOUT_ETCD_PW' }), {
      env: { ROLLOUT_ETCD_PW: 'wrong-pw-123' },
    }).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_ETCD_UNREACHABLE')).toBe(true);
    expect((error as Error).message).toContain('refused access as user root');
    expect((error as Error).message).not.toContain('wrong-pw-123');
  }, 20_000);

  it('is refused without credentials once auth is on', async () => {
    const kv = await connectEtcd(etcdSettings(etcd.endpoint)).catch((e: unknown) => e);
    expect(isRolloutError(kv, 'E_ETCD_UNREACHABLE')).toBe(true);
    expect((kv as Error).message).toContain('refused access without a username');
  }, 20_000);
});
