// The LB agent on poolApi v2: it follows conftool's v2 keys (written here by python3-etcd, as
// conftool writes them) into a real HAProxy, and its feed asks for a re-list on error 401.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { realSleep } from '../../../src/deps.js';
import { runLbAgent } from '../../../src/lb/agent.js';
import { createHaproxyRuntime, type HaproxyRuntime } from '../../../src/lb/haproxy.js';
import { appliedKey, type AppliedValue } from '../../../src/lb/keys.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { createV2Client, type V2Client } from '../../../src/kv/etcd-v2-client.js';
import { createV2PoolFeed } from '../../../src/pool/etcd-v2-watch.js';
import type { Kv, WatchEvent } from '../../../src/kv/kv.js';
import type { PoolKey } from '../../../src/pool/types.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdSettings } from '../../support/etcd-settings.js';
import { startHaproxy, type TestHaproxy } from '../../support/haproxy.js';
import { startBackends, type TestBackends } from './backends.js';

const PREFIX = '/conftool/v1/pools';
const CONFTOOL = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'pool', 'fixtures', 'conftool.py');
const backend = 'eqiad_appserver';
const key = (host: string): PoolKey => ({ dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host });
const keyPath = (k: PoolKey): string => `${PREFIX}/${k.dc}/${k.cluster}/${k.service}/${k.host}`;
const mw1 = key('mw1.eqiad.sandbox');
const mw2 = key('mw2.eqiad.sandbox');
const run = promisify(execFile);

let etcd: TestEtcd;
let haproxy: TestHaproxy;
let backends: TestBackends;
let kv: Kv;
let client: V2Client;
let runtime: HaproxyRuntime;
let controller: AbortController;
let done: Promise<void> | undefined;

/** conftool's write: a quorum read, then update() (a CAS on prevIndex), or a create. Returns the new modifiedIndex. */
async function conftoolWrite(k: PoolKey, value: object): Promise<number> {
  const { stdout } = await run('/usr/bin/python3', [
    CONFTOOL,
    etcd.endpoint,
    'write',
    keyPath(k),
    JSON.stringify(value),
  ]);
  return (JSON.parse(stdout) as { modifiedIndex: number }).modifiedIndex;
}

beforeAll(async () => {
  [etcd, backends] = await Promise.all([startEtcd({ enableV2: true }), startBackends(2)]);
  haproxy = await startHaproxy({
    backends: {
      [backend]: [
        { name: mw1.host, address: backends.addresses[0] ?? '' },
        { name: mw2.host, address: backends.addresses[1] ?? '' },
      ],
    },
  });
  kv = await connectEtcd(etcdSettings(etcd.endpoint));
  client = createV2Client(etcdSettings(etcd.endpoint));
  runtime = createHaproxyRuntime(haproxy.socket);
});

afterEach(async () => {
  controller?.abort();
  await done;
  done = undefined;
});

afterAll(async () => {
  client?.close();
  await kv?.close();
  await Promise.all([haproxy?.stop(), etcd?.stop(), backends?.close()]);
});

function start(): void {
  controller = new AbortController();
  done = runLbAgent(
    {
      kv,
      pool: createV2PoolFeed(client),
      haproxy: runtime,
      log: pino({ level: 'warn' }),
      sleep: realSleep,
      now: () => Date.now(),
    },
    {
      dc: 'eqiad',
      prefix: PREFIX,
      agentId: 'lb-v2',
      haproxySocket: haproxy.socket,
      signal: controller.signal,
      tickMs: 100,
      retryBaseMs: 100,
      retryMaxMs: 1000,
      maintAfterMs: 60_000,
    },
  );
}

const applied = async (k: PoolKey): Promise<AppliedValue | undefined> => {
  const entry = await kv.get(appliedKey('lb-v2', k));
  return entry === null ? undefined : (JSON.parse(entry.value) as AppliedValue);
};
const server = async (name: string) => (await runtime.showServersState(backend)).find((s) => s.server === name);
const poll = { timeout: 10_000, interval: 50 };

describe('lb-agent following v2 pool keys (poolApi v2)', () => {
  it("applies conftool's v2 depool and repool to HAProxy and confirms each at its modifiedIndex", async () => {
    await conftoolWrite(mw1, { pooled: 'yes', weight: 10 });
    await conftoolWrite(mw2, { pooled: 'yes', weight: 10 });
    start();
    await expect.poll(async () => (await applied(mw2))?.pooled, poll).toBe('yes');
    const depool = await conftoolWrite(mw1, { pooled: 'no' });
    await expect.poll(async () => (await applied(mw1))?.revision, poll).toBe(depool);
    await expect.poll(async () => (await server(mw1.host))?.admin, poll).toBe('maint');
    const repool = await conftoolWrite(mw1, { pooled: 'yes', weight: 25 });
    await expect.poll(async () => (await applied(mw1))?.revision, poll).toBe(repool);
    expect(await server(mw1.host)).toMatchObject({ admin: 'ready', weight: 25 });
  });

  it('picks up a change made while it was stopped (it lists again on start)', async () => {
    const change = await conftoolWrite(mw2, { pooled: 'yes', weight: 3 });
    start();
    await expect.poll(async () => (await applied(mw2))?.revision, poll).toBe(change);
    expect(await server(mw2.host)).toMatchObject({ admin: 'ready', weight: 3 });
  });
});

describe('the v2 pool feed', () => {
  it("hands over to a re-list (onResync) when its waitIndex was cleared from etcd's 1,000-event history (error 401)", async () => {
    const feed = createV2PoolFeed(client);
    const from = await feed.revision();
    // Why: 1,100 writes elsewhere push `from` out of v2's event history.
    for (let i = 0; i < 11; i += 1) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          fetch(`${etcd.endpoint}/v2/keys/elsewhere/k${j}`, {
            method: 'PUT',
            body: new URLSearchParams({ value: String(i) }),
          }).then((r) => r.text()),
        ),
      );
    }
    const events: WatchEvent[] = [];
    const reason = await new Promise<string>((resolve) => {
      void feed.watch(`${PREFIX}/eqiad/`, from, { onEvent: (e) => events.push(e), onResync: resolve });
    });
    expect(reason).toMatch(/cleared/);
    expect(events).toEqual([]);
    const listed = await feed.list(`${PREFIX}/eqiad/`);
    expect(listed.map((e) => e.key)).toEqual([keyPath(mw1), keyPath(mw2)]);
  });

  it("turns a v2 compareAndSwap into a put event with the node's modifiedIndex", async () => {
    const feed = createV2PoolFeed(client);
    const from = await feed.revision();
    const events: WatchEvent[] = [];
    const watch = await feed.watch(`${PREFIX}/eqiad/`, from, {
      onEvent: (e) => events.push(e),
      onResync: () => undefined,
    });
    const index = await conftoolWrite(mw2, { pooled: 'no' });
    await expect.poll(() => events.length, poll).toBe(1);
    expect(events[0]).toMatchObject({ type: 'put', entry: { key: keyPath(mw2), modRevision: index } });
    await watch.close();
  });
});
