import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { realSleep } from '../../../src/deps.js';
import { runLbAgent } from '../../../src/lb/agent.js';
import { createHaproxyRuntime, type HaproxyRuntime } from '../../../src/lb/haproxy.js';
import { agentKey, appliedKey, type AppliedValue } from '../../../src/lb/keys.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import type { Kv } from '../../../src/kv/kv.js';
import type { PoolKey } from '../../../src/pool/types.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdctl, etcdSettings } from '../../support/etcd-settings.js';
import { startHaproxy, type TestHaproxy } from '../../support/haproxy.js';
import { startBackends, type TestBackends } from './backends.js';

const PREFIX = '/conftool/v1/pools';
const backend = 'eqiad_appserver';
const key = (host: string): PoolKey => ({ dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host });
const path = (k: PoolKey): string => `${PREFIX}/${k.dc}/${k.cluster}/${k.service}/${k.host}`;
const mw1 = key('mw1.eqiad.sandbox');
const mw2 = key('mw2.eqiad.sandbox');

let etcd: TestEtcd;
let haproxy: TestHaproxy;
let backends: TestBackends;
let kv: Kv;
let runtime: HaproxyRuntime;
let controller: AbortController;
let done: Promise<void> | undefined;

beforeAll(async () => {
  [etcd, backends] = await Promise.all([startEtcd(), startBackends(2)]);
  haproxy = await startHaproxy({
    backends: {
      [backend]: [
        { name: mw1.host, address: backends.addresses[0] ?? '' },
        { name: mw2.host, address: backends.addresses[1] ?? '' },
      ],
    },
  });
  kv = await connectEtcd(etcdSettings(etcd.endpoint));
  runtime = createHaproxyRuntime(haproxy.socket);
});

afterEach(async () => {
  controller?.abort();
  await done;
  done = undefined;
});

afterAll(async () => {
  await kv?.close();
  await Promise.all([haproxy?.stop(), etcd?.stop(), backends?.close()]);
});

function start(leaseTtlSeconds = 10): void {
  controller = new AbortController();
  done = runLbAgent(
    { kv, haproxy: runtime, log: pino({ level: 'warn' }), sleep: realSleep, now: () => Date.now() },
    {
      dc: 'eqiad',
      prefix: PREFIX,
      agentId: 'lb-test',
      haproxySocket: haproxy.socket,
      signal: controller.signal,
      tickMs: 100,
      retryBaseMs: 100,
      retryMaxMs: 1000,
      maintAfterMs: 60_000,
      leaseTtlSeconds,
    },
  );
}

const applied = async (k: PoolKey): Promise<AppliedValue | undefined> => {
  const entry = await kv.get(appliedKey('lb-test', k));
  return entry === null ? undefined : (JSON.parse(entry.value) as AppliedValue);
};
const server = async (name: string) => (await runtime.showServersState(backend)).find((s) => s.server === name);
const poll = { timeout: 10_000, interval: 50 };

describe('lb-agent against real etcd and HAProxy', () => {
  it('drains a depooled server (maint once idle), confirms it, then repools it with its new weight', async () => {
    await kv.put(path(mw1), JSON.stringify({ pooled: 'yes', weight: 10 }));
    await kv.put(path(mw2), JSON.stringify({ pooled: 'yes', weight: 10 }));
    start();
    await expect.poll(async () => (await applied(mw2))?.pooled, poll).toBe('yes');
    expect(JSON.parse((await kv.get(agentKey('eqiad', 'lb-test')))?.value ?? '{}')).toMatchObject({
      agentId: 'lb-test',
      haproxySocket: haproxy.socket,
    });

    // A request in flight on mw1 keeps it in drain after the depool is confirmed.
    await runtime.setServerState(backend, mw2.host, 'maint');
    const request = fetch(`${haproxy.url}/hold`);
    await expect.poll(() => runtime.serverSessions(backend, mw1.host), poll).toBe(1);
    await runtime.setServerState(backend, mw2.host, 'ready');
    const depool = await kv.put(path(mw1), JSON.stringify({ pooled: 'no', weight: 10, reason: 'test' }));
    await expect.poll(async () => (await applied(mw1))?.revision, poll).toBe(depool);
    expect((await server(mw1.host))?.admin).toBe('drain');
    backends.release();
    await (await request).text();
    await expect.poll(async () => (await server(mw1.host))?.admin, poll).toBe('maint');

    const repool = await kv.put(path(mw1), JSON.stringify({ pooled: 'yes', weight: 25, reason: 'test' }));
    await expect.poll(async () => (await applied(mw1))?.revision, poll).toBe(repool);
    expect(await server(mw1.host)).toMatchObject({ admin: 'ready', weight: 25 });
  });

  it('applies a weight change of a pooled server', async () => {
    start();
    const change = await kv.put(path(mw2), JSON.stringify({ pooled: 'yes', weight: 4 }));
    await expect.poll(async () => (await applied(mw2))?.revision, poll).toBe(change);
    expect(await server(mw2.host)).toMatchObject({ admin: 'ready', weight: 4 });
  });

  it('restores a runtime change someone made behind its back on its next start', async () => {
    await runtime.setServerState(backend, mw2.host, 'maint');
    start();
    await expect.poll(async () => (await server(mw2.host))?.admin, poll).toBe('ready');
  });

  it('registers again and republishes its applied keys when its lease is revoked behind its back', async () => {
    start(3);
    await expect.poll(async () => (await applied(mw1)) !== undefined, poll).toBe(true);
    const before = (await kv.get(agentKey('eqiad', 'lb-test')))?.lease ?? '0';
    etcdctl(etcd.endpoint, 'lease', 'revoke', BigInt(before).toString(16));
    await expect
      .poll(
        async () => {
          const registration = await kv.get(agentKey('eqiad', 'lb-test'));
          const confirmation = await kv.get(appliedKey('lb-test', mw1));
          return registration !== null && registration.lease !== before && confirmation?.lease === registration.lease;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);
  });

  it('removes its registration and applied keys when stopped', async () => {
    start();
    await expect.poll(async () => (await applied(mw1)) !== undefined, poll).toBe(true);
    controller.abort();
    await done;
    done = undefined;
    expect(await kv.list('/rollout/v1/lb/eqiad/')).toEqual([]);
  });
});
