import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lbAgentCommand } from '../../../src/commands/lb-agent.js';
import { createHaproxyRuntime } from '../../../src/lb/haproxy.js';
import { agentKey, appliedKey } from '../../../src/lb/keys.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import type { Kv } from '../../../src/kv/kv.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdSettings } from '../../support/etcd-settings.js';
import { startHaproxy, type TestHaproxy } from '../../support/haproxy.js';

const host = { dc: 'codfw', cluster: 'api_appserver', service: 'php-fpm', host: 'mw10.codfw.sandbox' };
let etcd: TestEtcd;
let haproxy: TestHaproxy;
let kv: Kv;

beforeAll(async () => {
  etcd = await startEtcd();
  // Nothing listens on the server's port: without `check` HAProxy still counts it up, which is all the agent needs.
  haproxy = await startHaproxy({
    backends: { 'lb-codfw-api_appserver': [{ name: host.host, address: '127.0.0.1:9' }] },
  });
  kv = await connectEtcd(etcdSettings(etcd.endpoint));
});

afterAll(async () => {
  await kv?.close();
  await Promise.all([haproxy?.stop(), etcd?.stop()]);
});

describe('lbAgentCommand', () => {
  it('runs with --etcd and a backend template until stopped, then exits 0 having removed its keys', async () => {
    const revision = await kv.put(
      `/conftool/v1/pools/codfw/api_appserver/php-fpm/${host.host}`,
      JSON.stringify({ pooled: 'inactive', weight: 10 }),
    );
    const controller = new AbortController();
    const exit = lbAgentCommand(
      {
        dc: 'codfw',
        haproxySocket: haproxy.socket,
        etcd: [etcd.endpoint],
        agentId: 'lb-cmd',
        backendTemplate: 'lb-{dc}-{cluster}',
      },
      { signal: controller.signal, env: {}, log: pino({ level: 'warn' }) },
    );
    await expect
      .poll(async () => JSON.parse((await kv.get(appliedKey('lb-cmd', host)))?.value ?? '{}').revision, {
        timeout: 10_000,
      })
      .toBe(revision);
    const [server] = await createHaproxyRuntime(haproxy.socket).showServersState('lb-codfw-api_appserver');
    expect(server?.admin).toBe('maint');
    expect(await kv.get(agentKey('codfw', 'lb-cmd'))).not.toBeNull();
    controller.abort();
    expect(await exit).toBe(0);
    expect(await kv.get(agentKey('codfw', 'lb-cmd'))).toBeNull();
  });

  it('refuses to start on a socket HAProxy does not serve', async () => {
    await expect(
      lbAgentCommand(
        { dc: 'codfw', haproxySocket: `${haproxy.dir}/nope.sock`, etcd: [etcd.endpoint] },
        { signal: new AbortController().signal, env: {}, log: pino({ level: 'silent' }) },
      ),
    ).rejects.toMatchObject({ code: 'E_HAPROXY', message: expect.stringContaining('nope.sock') });
  });

  it('names the inventory it could not read when no --etcd is given', async () => {
    await expect(
      lbAgentCommand(
        { dc: 'codfw', haproxySocket: haproxy.socket, inventoryFile: '/nonexistent/inventory.yaml' },
        { signal: new AbortController().signal, env: {}, log: pino({ level: 'silent' }) },
      ),
    ).rejects.toMatchObject({ code: 'E_INVENTORY', message: expect.stringContaining('/nonexistent/inventory.yaml') });
  });

  it('rejects an unknown placeholder in the backend template', async () => {
    await expect(
      lbAgentCommand(
        { dc: 'codfw', haproxySocket: haproxy.socket, etcd: [etcd.endpoint], backendTemplate: '{site}_{cluster}' },
        { signal: new AbortController().signal, env: {}, log: pino({ level: 'silent' }) },
      ),
    ).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});
