import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHaproxyRuntime, type HaproxyRuntime } from '../../../src/lb/haproxy.js';
import { startHaproxy, type TestHaproxy } from '../../support/haproxy.js';
import { startBackends, type TestBackends } from './backends.js';

const backend = 'eqiad_appserver';
let haproxy: TestHaproxy;
let backends: TestBackends;
let runtime: HaproxyRuntime;

beforeAll(async () => {
  backends = await startBackends(2);
  haproxy = await startHaproxy({
    backends: {
      [backend]: [
        { name: 'mw1.eqiad.sandbox', address: backends.addresses[0] ?? '' },
        { name: 'mw2.eqiad.sandbox', address: backends.addresses[1] ?? '' },
      ],
    },
  });
  runtime = createHaproxyRuntime(haproxy.socket, { timeoutMs: 5000 });
});

afterAll(async () => {
  await haproxy?.stop();
  await backends?.close();
});

describe('createHaproxyRuntime against a real HAProxy', () => {
  it('lists the servers of a backend, ready at their configured weight', async () => {
    const servers = await runtime.showServersState(backend);
    expect(servers.map((s) => [s.server, s.admin, s.weight])).toEqual([
      ['mw1.eqiad.sandbox', 'ready', 10],
      ['mw2.eqiad.sandbox', 'ready', 10],
    ]);
  });

  it('sets drain, maint and ready, and the weight', async () => {
    const state = async () => (await runtime.showServersState(backend)).find((s) => s.server === 'mw2.eqiad.sandbox');
    await runtime.setServerState(backend, 'mw2.eqiad.sandbox', 'drain');
    expect((await state())?.admin).toBe('drain');
    await runtime.setServerState(backend, 'mw2.eqiad.sandbox', 'maint');
    expect((await state())?.admin).toBe('maint');
    await runtime.setServerWeight(backend, 'mw2.eqiad.sandbox', 3);
    await runtime.setServerState(backend, 'mw2.eqiad.sandbox', 'ready');
    expect(await state()).toMatchObject({ admin: 'ready', weight: 3 });
  });

  it('counts the sessions in flight on a server', async () => {
    await runtime.setServerState(backend, 'mw2.eqiad.sandbox', 'maint');
    const request = fetch(`${haproxy.url}/hold`);
    try {
      await expect.poll(() => runtime.serverSessions(backend, 'mw1.eqiad.sandbox'), { timeout: 5000 }).toBe(1);
    } finally {
      backends.release();
      await (await request).text();
    }
    await expect.poll(() => runtime.serverSessions(backend, 'mw1.eqiad.sandbox'), { timeout: 5000 }).toBe(0);
    await runtime.setServerState(backend, 'mw2.eqiad.sandbox', 'ready');
  });

  it("reports HAProxy's refusal with the socket, the backend and the server", async () => {
    await expect(runtime.setServerState(backend, 'mw9.eqiad.sandbox', 'drain')).rejects.toMatchObject({
      code: 'E_HAPROXY',
      message: expect.stringMatching(
        new RegExp(`${haproxy.socket}.*${backend}/mw9\\.eqiad\\.sandbox.*No such server\\.`),
      ),
    });
    await expect(runtime.setServerState('nope', 'mw1.eqiad.sandbox', 'drain')).rejects.toThrow(/No such backend\./);
    await expect(runtime.showServersState('nope')).rejects.toThrow(/Can't find backend\./);
    await expect(runtime.serverSessions(backend, 'mw9.eqiad.sandbox')).rejects.toThrow(
      /mw9\.eqiad\.sandbox.*No such server/,
    );
  });

  it('names a socket that does not exist and says what to check', async () => {
    const missing = createHaproxyRuntime(`${haproxy.dir}/missing.sock`);
    await expect(missing.showServersState()).rejects.toThrow(/missing\.sock.*ENOENT.*level admin/);
  });
});
