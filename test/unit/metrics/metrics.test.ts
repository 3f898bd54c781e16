import { describe, expect, it } from 'vitest';
import { MetricsCollector, type RunFigures } from '../../../src/metrics/collector.js';
import { parseExposition } from '../../../src/metrics/exposition.js';
import { applyCluster, renderSamples, sampleSet } from '../../../src/metrics/families.js';

const run = (exitCode: number, failed = 0): RunFigures => ({
  exitCode,
  durationSeconds: 42,
  finishedAt: 1_700_000_000,
  clusters: [
    {
      dc: 'eqiad',
      cluster: 'appserver',
      mode: 'graceful',
      restarted: 3,
      failed,
      skipped: 1,
      depooledSeconds: [4, 12, 700],
      canaryFailedRequests: 7,
    },
  ],
});

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('run metrics', () => {
  it('writes the counters, the duration, the last success and the depooled-time histogram of a run', () => {
    const set = sampleSet([]);
    for (const c of run(0).clusters) applyCluster(set, run(0), c);
    const text = renderSamples(set);
    const l = 'cluster="appserver",dc="eqiad",mode="graceful"';
    const b = (le: string): string => `cluster="appserver",dc="eqiad",le="${le}",mode="graceful"`;
    expect(value(text, `rollout_hosts_total{${l},result="restarted"}`)).toBe(3);
    expect(value(text, `rollout_hosts_total{${l},result="skipped"}`)).toBe(1);
    expect(value(text, `rollout_runs_total{${l},result="ok"}`)).toBe(1);
    expect(value(text, `rollout_run_duration_seconds{${l},result="ok"}`)).toBe(42);
    expect(value(text, `rollout_last_success_timestamp_seconds{${l}}`)).toBe(1_700_000_000);
    expect(value(text, `rollout_host_depooled_seconds_bucket{${b('5')}}`)).toBe(1);
    expect(value(text, `rollout_host_depooled_seconds_bucket{${b('600')}}`)).toBe(2);
    expect(value(text, `rollout_host_depooled_seconds_bucket{${b('+Inf')}}`)).toBe(3);
    expect(value(text, `rollout_host_depooled_seconds_count{${l}}`)).toBe(3);
    expect(value(text, `rollout_canary_failed_requests_total{${l}}`)).toBe(7);
    expect(text).toContain('# TYPE rollout_host_depooled_seconds histogram\n');
    // The text is valid exposition format: it parses back, every sample.
    expect(parseExposition(text).length).toBe(text.split('\n').filter((x) => x && !x.startsWith('#')).length);
  });

  it('carries counters on from the previous values and keeps the last success of an earlier run when this one failed', () => {
    const first = sampleSet([]);
    for (const c of run(0).clusters) applyCluster(first, run(0), c);
    const again = sampleSet(parseExposition(renderSamples(first)));
    const failed = { ...run(1, 2), finishedAt: 1_700_000_999 };
    for (const c of failed.clusters) applyCluster(again, failed, c);
    const text = renderSamples(again);
    const l = 'cluster="appserver",dc="eqiad",mode="graceful"';
    expect(value(text, `rollout_hosts_total{${l},result="restarted"}`)).toBe(6);
    expect(value(text, `rollout_hosts_total{${l},result="failed"}`)).toBe(2);
    expect(value(text, `rollout_runs_total{${l},result="failed"}`)).toBe(1);
    expect(value(text, `rollout_runs_total{${l},result="ok"}`)).toBe(1);
    expect(value(text, `rollout_last_success_timestamp_seconds{${l}}`)).toBe(1_700_000_000);
    expect(value(text, `rollout_host_depooled_seconds_count{${l}}`)).toBe(6);
  });

  it('collects per cluster from the event stream: depooled time from depool to repool', () => {
    const c = new MetricsCollector(() => 'emergency');
    const at = (s: number): string => new Date(1_700_000_000_000 + s * 1000).toISOString();
    const e = { dc: 'eqiad', cluster: 'appserver', runId: 'r' };
    c.observe({ ...e, time: at(0), event: 'host.depooled', host: 'mw1', modRevision: 1 });
    c.observe({ ...e, time: at(9), event: 'host.repooled', host: 'mw1', modRevision: 2 });
    c.observe({ ...e, time: at(9), event: 'host.done', host: 'mw1', durationMs: 9000 });
    c.observe({
      time: at(10),
      runId: 'r',
      event: 'run.finished',
      exitCode: 0,
      ok: 1,
      failed: 0,
      skipped: 0,
      notStarted: 0,
      durationMs: 10_000,
    });
    expect(c.figures()).toMatchObject({
      exitCode: 0,
      durationSeconds: 10,
      clusters: [{ dc: 'eqiad', cluster: 'appserver', mode: 'emergency', restarted: 1, depooledSeconds: [9] }],
    });
  });
});
