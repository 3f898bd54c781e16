import { afterEach, describe, expect, it } from 'vitest';
import { agentKey, agentKeyPrefix, ROLLOUT_PREFIX } from '../../../src/lb/keys.js';
import { eventually, poolKey, poolPath, setup, type Harness } from './harness.js';

const mw1 = poolKey('mw1.eqiad');
const mw2 = poolKey('mw2.eqiad');
const mw3 = poolKey('mw3.eqiad');
const value = (pooled: string, weight = 10): string => JSON.stringify({ pooled, weight });
const backend = 'eqiad_appserver';

let running: Harness | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function fleet() {
  const s = setup();
  for (const k of [mw1, mw2, mw3]) s.haproxy.addServer(backend, k.host);
  return s;
}

describe('runLbAgent', () => {
  it('applies every pool key of its datacenter on start and publishes the applied revisions', async () => {
    const s = fleet();
    const r1 = await s.kv.put(poolPath(mw1), value('yes', 20));
    const r2 = await s.kv.put(poolPath(mw2), value('no'));
    const r3 = await s.kv.put(poolPath(mw3), value('inactive'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw3)) !== undefined, 'mw3 is applied');
    // Idle, so the drained server goes on to maint.
    await eventually(() => s.haproxy.server(backend, mw2.host)?.admin === 'maint', 'mw2 is in maint');
    expect(s.haproxy.server(backend, mw1.host)).toMatchObject({ admin: 'ready', weight: 20 });
    expect(s.haproxy.server(backend, mw3.host)?.admin).toBe('maint');
    expect(await running.applied(mw1)).toMatchObject({ revision: r1, pooled: 'yes', weight: 20 });
    expect(await running.applied(mw2)).toMatchObject({ revision: r2, pooled: 'no' });
    expect(await running.applied(mw3)).toMatchObject({ revision: r3, pooled: 'inactive' });
    const registration = await s.kv.get(agentKey('eqiad', 'lb1'));
    expect(JSON.parse(registration?.value ?? '{}')).toMatchObject({ agentId: 'lb1', haproxySocket: '/fake.sock' });
  });

  it('follows later changes from the watch', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('yes'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    const depool = await s.kv.put(poolPath(mw1), value('no'));
    await eventually(async () => (await running?.applied(mw1))?.revision === depool, 'the depool is confirmed');
    expect(s.haproxy.server(backend, mw1.host)?.admin).not.toBe('ready');
    const repool = await s.kv.put(poolPath(mw1), value('yes', 15));
    await eventually(async () => (await running?.applied(mw1))?.revision === repool, 'the repool is confirmed');
    expect(s.haproxy.server(backend, mw1.host)).toMatchObject({ admin: 'ready', weight: 15 });
  });

  it('confirms a depool once the server drains and keeps it in drain while sessions remain', async () => {
    const s = fleet();
    s.haproxy.addServer(backend, mw1.host, { sessions: 4 });
    await s.kv.put(poolPath(mw1), value('yes'));
    running = s.start({ maintAfterMs: 60_000 });
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    const depool = await s.kv.put(poolPath(mw1), value('no'));
    await eventually(async () => (await running?.applied(mw1))?.revision === depool, 'the depool is confirmed');
    expect(s.haproxy.server(backend, mw1.host)?.admin).toBe('drain');
    const server = s.haproxy.server(backend, mw1.host);
    if (server) server.sessions = 0;
    await eventually(() => s.haproxy.server(backend, mw1.host)?.admin === 'maint', 'the idle server goes to maint');
  });

  it('confirms only the revision it applied when a newer value arrives during the HAProxy change', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('yes'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    let repool = 0;
    s.haproxy.duringNextSet(async () => {
      repool = await s.kv.put(poolPath(mw1), value('yes', 12));
      await new Promise((r) => setTimeout(r, 10)); // let the watch event arrive mid-change
    });
    const depool = await s.kv.put(poolPath(mw1), value('no'));
    await eventually(
      async () => repool > 0 && (await running?.applied(mw1))?.revision === repool,
      'the repool is confirmed',
    );
    expect(await running.applied(mw1)).toMatchObject({ revision: repool, pooled: 'yes', weight: 12 });
    expect(s.haproxy.server(backend, mw1.host)).toMatchObject({ admin: 'ready', weight: 12 });
    expect(repool).toBeGreaterThan(depool);
  });

  it('moves a drained server to maint after the bound even with sessions left', async () => {
    const s = fleet();
    s.haproxy.addServer(backend, mw1.host, { sessions: 4 });
    await s.kv.put(poolPath(mw1), value('no'));
    running = s.start({ maintAfterMs: 30 });
    await eventually(() => s.haproxy.server(backend, mw1.host)?.admin === 'maint', 'the bound sends it to maint');
    expect(s.haproxy.calls).toContain(`set server ${backend}/${mw1.host} state drain`);
  });

  it('removes its applied key but leaves HAProxy alone when a pool key is deleted', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('no'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    await eventually(() => s.haproxy.server(backend, mw1.host)?.admin === 'maint', 'mw1 is in maint');
    await s.kv.delete(poolPath(mw1));
    await eventually(async () => (await running?.applied(mw1)) === undefined, 'the applied key is removed');
    expect(s.haproxy.server(backend, mw1.host)?.admin).toBe('maint');
    const recreated = await s.kv.put(poolPath(mw1), value('yes'));
    await eventually(
      async () => (await running?.applied(mw1))?.revision === recreated,
      'the re-created key is applied',
    );
    expect(s.haproxy.server(backend, mw1.host)?.admin).toBe('ready');
  });

  it('never pools a server whose pool value it cannot read, and publishes nothing for it', async () => {
    const s = fleet();
    s.haproxy.addServer(backend, mw1.host, { admin: 'maint' });
    s.haproxy.addServer(backend, mw2.host, { admin: 'ready' });
    await s.kv.put(poolPath(mw1), '{"pooled": yes}');
    await s.kv.put(poolPath(mw2), JSON.stringify({ pooled: 'yes' }));
    await s.kv.put(poolPath(mw3), value('yes'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw3)) !== undefined, 'mw3 is applied');
    expect(s.haproxy.server(backend, mw1.host)?.admin).toBe('maint');
    expect(s.haproxy.server(backend, mw2.host)?.admin).toBe('ready');
    expect(await running.applied(mw1)).toBeUndefined();
    expect(await running.applied(mw2)).toBeUndefined();
    expect(running.lines.some((l) => l.level === 40 && l.msg.includes('unreadable pool value'))).toBe(true);
    expect(s.haproxy.calls.filter((c) => c.includes(mw1.host) && c.startsWith('set'))).toEqual([]);
  });

  it('retries HAProxy errors until the change is applied', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('no'));
    s.haproxy.failNext(4);
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied after retries');
    expect(s.haproxy.server(backend, mw1.host)?.admin).not.toBe('ready');
    expect(running.lines.filter((l) => l.msg.includes('could not apply')).length).toBeGreaterThanOrEqual(1);
  });

  it('publishes nothing for a host HAProxy does not know, so rollouts fail closed', async () => {
    const s = fleet();
    const ghost = poolKey('mw9.eqiad');
    await s.kv.put(poolPath(ghost), value('no'));
    await s.kv.put(poolPath(mw1), value('yes'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    await eventually(
      () => s.haproxy.calls.filter((c) => c === `show servers state ${backend}`).length >= 3,
      'the ghost is looked up again',
    );
    expect(await running.applied(ghost)).toBeUndefined();
    expect(
      running.lines.some(
        (l) => l.level === 40 && l.msg.includes('no server mw9.eqiad in HAProxy backend eqiad_appserver'),
      ),
    ).toBe(true);
  });

  it('ignores pool keys of other datacenters', async () => {
    const s = fleet();
    s.haproxy.addServer('codfw_appserver', 'mw7.codfw');
    await s.kv.put(poolPath(poolKey('mw7.codfw', 'appserver', 'codfw')), value('no'));
    await s.kv.put(poolPath(mw1), value('yes'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    expect(s.haproxy.server('codfw_appserver', 'mw7.codfw')?.admin).toBe('ready');
  });

  it('resynchronises after a compaction and applies what changed meanwhile', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('yes'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    s.kv.compact(await s.kv.revision());
    const depool = await s.kv.put(poolPath(mw1), value('no'));
    await eventually(async () => (await running?.applied(mw1))?.revision === depool, 'the depool is confirmed');
    expect(running.lines.some((l) => l.msg.includes('must resynchronise'))).toBe(true);
  });

  it('registers again with a new lease and republishes everything when its lease is lost', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('yes'));
    await s.kv.put(poolPath(mw2), value('no'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw2)) !== undefined, 'mw2 is applied');
    const before = (await s.kv.get(agentKey('eqiad', 'lb1')))?.lease;
    s.kv.expire(before ?? '');
    await eventually(async () => {
      const now = await s.kv.get(agentKey('eqiad', 'lb1'));
      return (
        now !== null &&
        now.lease !== before &&
        (await running?.applied(mw1)) !== undefined &&
        (await running?.applied(mw2)) !== undefined
      );
    }, 'the agent registered again and republished');
    const lease = (await s.kv.get(agentKey('eqiad', 'lb1')))?.lease;
    const applied = await s.kv.list(`${ROLLOUT_PREFIX}lb/eqiad/applied/lb1/`);
    expect(applied.map((e) => e.lease)).toEqual([lease, lease]);
  });

  it('keeps running through an etcd outage and registers once etcd is back', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('yes'));
    s.kv.setDown(true);
    running = s.start();
    await eventually(
      () => running?.lines.some((l) => l.msg.includes('etcd step failed')) ?? false,
      'the outage is logged',
    );
    s.kv.setDown(false);
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
  });

  it('revokes its lease on abort, removing its registration and applied keys', async () => {
    const s = fleet();
    await s.kv.put(poolPath(mw1), value('yes'));
    running = s.start();
    await eventually(async () => (await running?.applied(mw1)) !== undefined, 'mw1 is applied');
    await running.stop();
    running = undefined;
    expect(await s.kv.list(`${ROLLOUT_PREFIX}lb/eqiad/`)).toEqual([]);
    expect(await s.kv.list(agentKeyPrefix('eqiad'))).toEqual([]);
    expect(s.kv.leases()).toEqual([]);
  });
});
