import { describe, expect, it } from 'vitest';
import { renderSummary } from '../../../src/report/summary-render.js';
import { summarize } from '../../../src/report/summary.js';
import { at, failedRun, goodHost, started } from './events.js';

describe('summarize', () => {
  it('gives every host its outcome, step, reason, duration and pool state, failed hosts first', () => {
    const s = summarize(failedRun);
    expect(s.hosts.map((h) => [h.host, h.outcome, h.step, h.depooled])).toEqual([
      ['mw3', 'failed', 'health', true],
      ['mw1', 'done', 'done', false],
      ['mw4', 'done', 'done', false],
      ['mw2', 'done', 'done', false],
      ['mw5', 'skipped', 'pending', false],
    ]);
    expect(s.hosts[0]).toMatchObject({
      dc: 'eqiad',
      cluster: 'appserver',
      code: 'E_HEALTH',
      durationMs: 12_000,
      reason: expect.stringContaining('HTTP 503'),
    });
    expect(s.hosts[1]?.durationMs).toBe(6000);
  });

  it('counts hosts no batch reached from the plan in run.started', () => {
    const s = summarize(failedRun);
    expect(s.notStarted).toEqual([{ dc: 'eqiad', cluster: 'api_appserver', notStarted: 2 }]);
    expect(s.totals).toEqual({
      hosts: 7,
      done: 3,
      failed: 1,
      skipped: 1,
      notStarted: 2,
      interrupted: 0,
      leftDepooled: 1,
    });
    expect(s).toMatchObject({
      runId: 'r-1',
      command: 'sync',
      release: 'r2',
      exitCode: 1,
      durationMs: 21_000,
      interruptedBy: null,
    });
  });

  it('aggregates the assumed LB propagation into one warning per datacenter', () => {
    expect(summarize(failedRun).warnings).toEqual([
      'etcd answered slowly (2.1 s)',
      'no LB agent registered in eqiad: used a 3 s propagation delay (3 hosts)',
    ]);
  });

  it('marks hosts in flight at an interrupt as interrupted and still depooled', () => {
    const events = [
      started,
      at(0, { event: 'batch.started', dc: 'eqiad', cluster: 'appserver', batch: 1, batches: 2, hosts: ['mw1', 'mw2'] }),
      ...goodHost('mw1', 0),
      at(1, { event: 'host.depooled', dc: 'eqiad', cluster: 'appserver', host: 'mw2', modRevision: 3 }),
      at(2, { event: 'run.interrupted', signal: 'SIGINT' }),
    ];
    const s = summarize(events);
    expect(s.hosts[0]).toMatchObject({
      host: 'mw2',
      outcome: 'interrupted',
      step: 'depool',
      depooled: true,
      reason: 'interrupted by SIGINT',
    });
    expect(s.exitCode).toBeNull();
    expect(s.interruptedBy).toBe('SIGINT');
  });

  it('lists hosts whose repool was skipped', () => {
    const s = summarize([
      started,
      at(3, {
        event: 'host.repool-skipped',
        dc: 'eqiad',
        cluster: 'appserver',
        host: 'mw1',
        reason: 'someone set pooled=no during the run',
      }),
    ]);
    expect(s.repoolSkipped).toEqual([
      { host: 'mw1', dc: 'eqiad', cluster: 'appserver', reason: 'someone set pooled=no during the run' },
    ]);
  });
});

describe('renderSummary', () => {
  const text = renderSummary(summarize(failedRun));
  const lines = text.split('\n');

  it('starts with a headline of the totals and the exit code', () => {
    expect(lines[0]).toBe(
      'rollout sync (release r2), run r-1: 7 hosts: 1 FAILED, 3 done, 1 skipped, 2 not started in 0:21, exit 1',
    );
  });

  it('says which hosts were left depooled and what to do', () => {
    expect(lines[1]).toContain('1 host left depooled (mw3): fix, then `rollout pool <host> --reason …`');
  });

  it('prints a table of every host with the failed one first, marked still depooled', () => {
    expect(lines[3]).toMatch(/^HOST\s+DC\s+CLUSTER\s+RESULT\s+STEP\s+TIME\s+NOTE$/);
    expect(lines[4]).toBe(
      'mw3   eqiad  appserver      FAILED   health  0:12  still depooled; E_HEALTH; health check failed after 5 attempts over 10s (last: HTTP 503 from http://mw3/)',
    );
    expect(lines[5]).toBe('mw1   eqiad  appserver      done     done    0:06');
    expect(lines.filter((l) => /^mw\d /.test(l))).toHaveLength(5);
  });

  it('ends with the hosts never started and the warnings', () => {
    expect(text).toContain('not started: 2 hosts of api_appserver@eqiad\n');
    expect(
      text.endsWith(
        'warnings:\n  - etcd answered slowly (2.1 s)\n  - no LB agent registered in eqiad: used a 3 s propagation delay (3 hosts)\n',
      ),
    ).toBe(true);
  });
});

describe('hosts skipped before any batch', () => {
  it('do not count against the hosts run.started planned in batches', () => {
    const s = summarize([
      started,
      at(0, { event: 'host.skipped', dc: 'eqiad', cluster: 'appserver', host: 'mw9', reason: 'inactive' }),
      at(0, { event: 'batch.started', dc: 'eqiad', cluster: 'appserver', batch: 1, batches: 2, hosts: ['mw1'] }),
      ...goodHost('mw1', 0),
      at(9, { event: 'run.finished', exitCode: 1, ok: 1, failed: 0, skipped: 1, notStarted: 6, durationMs: 9000 }),
    ]);
    expect(s.notStarted).toEqual([
      { dc: 'eqiad', cluster: 'appserver', notStarted: 2 },
      { dc: 'eqiad', cluster: 'api_appserver', notStarted: 4 },
    ]);
    expect(s.totals).toMatchObject({ hosts: 8, done: 1, skipped: 1, notStarted: 6 });
  });
});

describe('renderSummary for skipped hosts', () => {
  it('shows no step for a host that was skipped', () => {
    expect(renderSummary(summarize(failedRun))).toMatch(/^mw5 +eqiad +api_appserver +skipped +- +0:01 +inactive$/m);
  });
});
