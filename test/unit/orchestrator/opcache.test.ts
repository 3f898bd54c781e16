import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { harness } from './harness.js';

const OPCACHE = { url: 'http://{address}/opcache-status', command: undefined, thresholdPercent: undefined };
const USED: Record<string, number> = { mw1001: 91.5, mw1002: 12, mw1003: 85, mw1004: 40 };

async function opcacheFleet(thresholdPercent: number | undefined = undefined) {
  const h = await harness(
    fleet()
      .cluster('appserver', 4, {
        batch: 2,
        minPooled: '50%',
        settings: { restart: { opcache: { ...OPCACHE, thresholdPercent } } },
      })
      .build(),
  );
  h.opcache = (host) => USED[host.name] ?? new Error('?');
  return h;
}

describe('opcache-threshold restarts', () => {
  it('with --if-opcache-above, depools and restarts only the hosts above it; the others are skipped with their figure', async () => {
    const h = await opcacheFleet();
    const result = await h.run({ opcacheAbove: 80 });
    expect(result.exitCode).toBe(0);
    expect(h.names('host.depooled').sort()).toEqual(['mw1001', 'mw1003']);
    expect(h.execs.map((e) => e.host).sort()).toEqual(['mw1001', 'mw1003']);
    const skipped = result.hosts.filter((x) => x.outcome === 'skipped');
    expect(skipped.map((x) => [x.host, x.reason])).toEqual([
      ['mw1002', 'opcache 12.0% used, not above the 80.0% threshold: not depooled, not restarted'],
      ['mw1004', 'opcache 40.0% used, not above the 80.0% threshold: not depooled, not restarted'],
    ]);
    for (const host of Object.keys(USED)) expect((await h.value(host))?.['pooled']).toBe('yes');
  });

  it('uses restart.opcache.threshold from the inventory when no flag is given', async () => {
    const h = await opcacheFleet(50);
    await h.run();
    expect(h.execs.map((e) => e.host).sort()).toEqual(['mw1001', 'mw1003']);
  });

  it('restarts every host when --release is given, as the code changed', async () => {
    const h = await opcacheFleet(50);
    h.health = () => ({ ok: true, detail: 'HTTP 200, release r2' });
    const result = await h.run({ opcacheAbove: 80, release: 'r2' });
    expect(result.exitCode).toBe(0);
    expect(h.execs).toHaveLength(4);
  });

  it('restarts a host whose opcache use cannot be read, with a warning saying so', async () => {
    const h = await opcacheFleet();
    h.opcache = (host) => (host.name === 'mw1002' ? new Error('connection refused') : (USED[host.name] ?? 0));
    await h.run({ opcacheAbove: 80 });
    expect(h.execs.map((e) => e.host).sort()).toEqual(['mw1001', 'mw1002', 'mw1003']);
    const warnings = h.events.flatMap((e) => (e.event === 'run.warning' ? [e.message] : []));
    expect(warnings).toContain(
      'mw1002: opcache use unreadable (connection refused): restarting it as if above the 80.0% threshold',
    );
  });
});
