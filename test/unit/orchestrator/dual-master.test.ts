import { describe, expect, it } from 'vitest';
import type { DualMasterSettings, InventoryHost, Slot } from '../../../src/inventory/types.js';
import { fleet } from '../../support/fleet.js';
import { harness, type Harness } from './harness.js';

const DM: DualMasterSettings = {
  dormantCommand: 'php-slot dormant',
  restartCommand: 'php-slot restart {slot}',
  emergencyRestartCommand: 'php-slot kill-restart {slot}',
  switchCommand: 'php-slot switch {slot}',
  statusUrl: { A: 'http://{address}:8081/fpm-status', B: 'http://{address}:8082/fpm-status' },
  healthUrl: { A: 'http://{address}:8081/', B: 'http://{address}:8082/' },
  masterField: 'masterPid',
  idleTimeoutSeconds: 10,
};

/** A fake two-master host: which slot nginx sends to, each slot's master pid and busy workers. */
async function dualFleet(
  size: number,
  minPooled: `${number}%` = '50%',
): Promise<{
  h: Harness;
  masters: Map<string, { active: Slot; pid: Record<Slot, number>; busy: Record<Slot, number> }>;
}> {
  const h = await harness(
    fleet()
      .cluster('appserver', size, {
        batch: 2,
        minPooled,
        settings: { restart: { strategy: 'dual-master', dualMaster: DM } },
      })
      .build(),
  );
  const masters = new Map<string, { active: Slot; pid: Record<Slot, number>; busy: Record<Slot, number> }>();
  let nextPid = 100;
  const of = (host: string) => {
    let m = masters.get(host);
    if (!m)
      masters.set(host, (m = { active: 'A', pid: { A: (nextPid += 1), B: (nextPid += 1) }, busy: { A: 0, B: 0 } }));
    return m;
  };
  const slotOf = (host: InventoryHost, url: string | undefined): Slot | undefined =>
    url?.includes(':8081') ? 'A' : url?.includes(':8082') ? 'B' : undefined;
  h.exec = (host, command) => {
    const m = of(host);
    const [, verb, slot] = command.split(' ') as [string, string, Slot];
    if (verb === 'dormant') return { stdout: m.active === 'A' ? 'B\n' : 'A\n' };
    if (verb === 'restart' || verb === 'kill-restart') m.pid[slot] = nextPid += 1;
    if (verb === 'switch') m.active = slot;
    return undefined;
  };
  h.health = (host) => {
    const m = of(host.name);
    const slot = slotOf(host, host.settings.health.url) ?? m.active;
    return { ok: true, detail: 'HTTP 200', body: JSON.stringify({ masterPid: m.pid[slot] }) };
  };
  h.active = (host) => of(host.name).busy[slotOf(host, host.settings.drain.statusUrl) ?? 'A'];
  return { h, masters };
}

describe('restart.strategy: dual-master', () => {
  it('swaps the masters of every host without writing any pool key, even when no host could be depooled', async () => {
    const { h, masters } = await dualFleet(3, '100%');
    const before = await Promise.all(
      ['mw1001', 'mw1002', 'mw1003'].map((x) => h.kv.get(`/conftool/v1/pools/eqiad/appserver/php-fpm/${x}`)),
    );
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    const after = await Promise.all(
      ['mw1001', 'mw1002', 'mw1003'].map((x) => h.kv.get(`/conftool/v1/pools/eqiad/appserver/php-fpm/${x}`)),
    );
    expect(after.map((e) => e?.modRevision)).toEqual(before.map((e) => e?.modRevision));
    expect(h.journal).toEqual([]);
    expect(h.events.filter((e) => 'host' in e && e.host === 'mw1001').map((e) => e.event)).toEqual([
      'host.dispatched',
      'host.drained',
      'host.restarted',
      'health.passed',
      'host.switched',
      'host.done',
    ]);
    expect(h.execs.filter((e) => e.host === 'mw1001').map((e) => e.command)).toEqual([
      'php-slot dormant',
      'php-slot restart B',
      'php-slot switch B',
    ]);
    for (const m of masters.values()) expect(m.active).toBe('B');
    const switched = h.events.find((e) => e.event === 'host.switched' && e.host === 'mw1001');
    expect(switched).toMatchObject({ slot: 'B', master: String(masters.get('mw1001')?.pid.B) });
  });

  it('fails a host whose dormant master still serves its previous term, without restarting it', async () => {
    const { h, masters } = await dualFleet(2);
    await h.run();
    masters.get('mw1001')!.busy.A = 2;
    const result = await h.run();
    expect(result.exitCode).toBe(1);
    const failed = result.hosts.find((x) => x.host === 'mw1001');
    expect(failed).toMatchObject({ outcome: 'failed', step: 'drain', code: 'E_DORMANT_BUSY', leftDepooled: false });
    expect(failed?.reason).toMatch(
      /dormant master A still serves 2 request\(s\) of its previous term after 10s: not restarted/,
    );
    expect(
      h.execs
        .filter((e) => e.host === 'mw1001')
        .map((e) => e.command)
        .slice(3),
    ).toEqual(['php-slot dormant']);
    expect(masters.get('mw1001')!.active).toBe('B');
    expect(result.hosts.find((x) => x.host === 'mw1002')?.outcome).toBe('done');
  });

  it('in an emergency, hard-restarts the dormant master at once, busy or not, and switches', async () => {
    const { h, masters } = await dualFleet(1);
    masters.set('mw1001', { active: 'A', pid: { A: 1, B: 2 }, busy: { A: 0, B: 3 } });
    const result = await h.run({ emergency: true });
    expect(result.exitCode).toBe(0);
    expect(h.execs.map((e) => e.command)).toEqual(['php-slot dormant', 'php-slot kill-restart B', 'php-slot switch B']);
    expect(masters.get('mw1001')!.active).toBe('B');
  });

  it('never switches to a master that fails its own health check', async () => {
    const { h, masters } = await dualFleet(1);
    const healthy = h.health;
    h.health = (host) =>
      host.settings.health.url?.includes(':8082') ? { ok: false, detail: 'HTTP 502' } : healthy(host);
    const result = await h.run();
    expect(result.hosts[0]).toMatchObject({ outcome: 'failed', step: 'health', code: 'E_HEALTH', leftDepooled: false });
    expect(h.execs.map((e) => e.command)).toEqual(['php-slot dormant', 'php-slot restart B']);
    expect(masters.get('mw1001')!.active).toBe('A');
  });

  it('fails the host when the public URL keeps answering from the old master', async () => {
    const { h } = await dualFleet(1);
    h.exec = (_host, command) => (command.endsWith('dormant') ? { stdout: 'B\n' } : undefined);
    const result = await h.run();
    expect(result.hosts[0]).toMatchObject({ outcome: 'failed', step: 'switch', code: 'E_SWITCH' });
    expect(result.hosts[0]?.reason).toMatch(/switched to master B, but the public URL did not confirm it within \d+s/);
  });

  it('confirms the switch only once the public URL answers from the new master several times in a row', async () => {
    const { h, masters } = await dualFleet(1);
    const answers: string[] = [];
    const real = h.health;
    let publicProbes = 0;
    h.health = (host) => {
      const m = masters.get('mw1001');
      if (/:808[12]\//.test(host.settings.health.url ?? '') || m?.active !== 'B') return real(host);
      // After the switch: an old worker answers once more between two new ones (nginx's reload is asynchronous).
      publicProbes += 1;
      const pid = publicProbes === 2 ? m.pid.A : m.pid.B;
      answers.push(pid === m.pid.B ? 'new' : 'old');
      return { ok: true, detail: 'HTTP 200', body: JSON.stringify({ masterPid: pid }) };
    };
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(answers).toEqual(['new', 'old', 'new', 'new', 'new']);
  });
});
