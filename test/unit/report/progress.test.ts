import { describe, expect, it } from 'vitest';
import { progressFrom, renderProgress, renderProgressLine } from '../../../src/report/progress.js';
import { T0, at, failedRun, goodHost, started } from './events.js';

describe('progressFrom', () => {
  it('follows batches, in-flight hosts and outcomes per cluster', () => {
    const events = [
      started,
      at(0, { event: 'batch.started', dc: 'eqiad', cluster: 'appserver', batch: 1, batches: 2, hosts: ['mw1'] }),
      ...goodHost('mw1', 0),
      at(8, { event: 'batch.started', dc: 'eqiad', cluster: 'appserver', batch: 2, batches: 2, hosts: ['mw2', 'mw3'] }),
    ];
    const [app, api] = progressFrom(events);
    expect(app).toEqual({
      dc: 'eqiad',
      cluster: 'appserver',
      hosts: 3,
      batch: 2,
      batches: 2,
      width: undefined,
      inFlight: 2,
      ok: 1,
      failed: 0,
      skipped: 0,
      left: 0,
      startedMs: T0,
      finishedMs: undefined,
    });
    expect(api).toMatchObject({
      cluster: 'api_appserver',
      hosts: 4,
      batch: 0,
      inFlight: 0,
      left: 4,
      startedMs: undefined,
    });
  });

  it('marks a cluster finished when its last host is done or failed', () => {
    const [app, api] = progressFrom(failedRun);
    expect(app).toMatchObject({ ok: 2, failed: 1, left: 0, inFlight: 0, finishedMs: T0 + 20_000 });
    expect(api).toMatchObject({ ok: 1, skipped: 1, left: 2, finishedMs: undefined });
  });
});

describe('renderProgressLine', () => {
  it('renders the scap-like line with percentage and elapsed time', () => {
    const p = {
      dc: 'eqiad',
      cluster: 'appserver',
      hosts: 22,
      batch: 2,
      batches: 5,
      width: undefined,
      inFlight: 3,
      ok: 10,
      failed: 0,
      skipped: 0,
      left: 9,
      startedMs: T0,
      finishedMs: undefined,
    };
    expect(renderProgressLine(p, T0 + 42_000)).toBe(
      'appserver@eqiad  45% (batch 2/5; in-flight: 3; ok: 10; fail: 0; left: 9) 0:42',
    );
  });

  it('stops the clock of a finished cluster and aligns every cluster name', () => {
    expect(renderProgress(progressFrom(failedRun), T0 + 3_600_000)).toEqual([
      'appserver@eqiad     100% (batch 2/2; in-flight: 0; ok: 2; fail: 1; left: 0) 0:20',
      'api_appserver@eqiad  50% (batch 1/2; in-flight: 0; ok: 1; fail: 0; skipped: 1; left: 2) 1:00:00',
    ]);
  });
});

describe('a window run', () => {
  it('shows the hosts in flight against the width, with no batch', () => {
    const win = { dc: 'eqiad', cluster: 'appserver' };
    const events = [
      at(0, {
        event: 'run.started',
        command: 'sync',
        argv: [],
        user: 'u',
        machine: 'm',
        pid: 1,
        emergency: false,
        release: null,
        clusters: [{ ...win, hosts: 100, batches: 10, mode: 'window', width: 10 }],
      }),
      ...Array.from({ length: 45 }, (_, i) =>
        at(1, { event: 'host.dispatched', ...win, host: `mw${i}`, width: 10, inFlight: Math.min(10, i + 1) }),
      ),
      ...Array.from({ length: 35 }, (_, i) => at(2, { event: 'host.done', ...win, host: `mw${i}`, durationMs: 1 })),
    ];
    const [p] = progressFrom(events);
    expect(p).toMatchObject({ width: 10, inFlight: 10, ok: 35, left: 55 });
    if (!p) throw new Error('no progress');
    expect(renderProgressLine(p, T0 + 42_000)).toBe(
      'appserver@eqiad  35% (in flight 10/10; ok 35; fail 0; left 55) 0:41',
    );
  });
});

describe('hosts skipped before any batch', () => {
  it('are added to the planned hosts instead of hiding one of them', () => {
    const [app] = progressFrom([
      started,
      at(0, { event: 'host.skipped', dc: 'eqiad', cluster: 'appserver', host: 'mw9', reason: 'inactive' }),
      at(0, { event: 'batch.started', dc: 'eqiad', cluster: 'appserver', batch: 1, batches: 2, hosts: ['mw1'] }),
    ]);
    expect(app).toMatchObject({ hosts: 4, skipped: 1, inFlight: 1, left: 2 });
  });
});
