import { describe, expect, it } from 'vitest';
import type { NotifySink } from '../../../src/inventory/types.js';
import type { HookDocument } from '../../../src/notify/document.js';
import { createNotifier } from '../../../src/notify/notifier.js';
import type { RolloutEvent } from '../../../src/report/events.js';

const run = {
  runId: 'run-1',
  user: 'alice',
  machine: 'deploy1',
  command: 'rollout sync --release r2',
  reason: 'deploy r2',
  release: 'r2',
  emergency: false,
};
const base = { time: '2026-01-01T00:00:00.000Z', runId: 'run-1' };
const started: RolloutEvent = {
  ...base,
  event: 'run.started',
  command: 'sync',
  argv: [],
  user: 'alice',
  machine: 'deploy1',
  pid: 1,
  emergency: false,
  release: 'r2',
  clusters: [
    { dc: 'eqiad', cluster: 'appserver', hosts: 2, batches: 2 },
    { dc: 'eqiad', cluster: 'api', hosts: 1, batches: 1 },
  ],
};
const host = (event: 'host.done' | 'host.failed', name: string, cluster: string): RolloutEvent =>
  event === 'host.done'
    ? { ...base, event, dc: 'eqiad', cluster, host: name, durationMs: 1 }
    : {
        ...base,
        event,
        dc: 'eqiad',
        cluster,
        host: name,
        step: 'health',
        reason: 'x',
        code: 'E_HEALTH',
        depooled: true,
      };
const finished = (exitCode: number): RolloutEvent => ({
  ...base,
  event: 'run.finished',
  exitCode,
  ok: 2,
  failed: exitCode === 0 ? 0 : 1,
  skipped: 0,
  notStarted: 0,
  durationMs: 30_000,
});

function sink(events: NotifySink['events'], retries = 2): NotifySink {
  return { kind: 'command', name: 'notify[0]', command: 'x', events, timeoutSeconds: 1, retries };
}

describe('the notifier', () => {
  it('sends each sink the documents it chose, in order, with who, the command, the reason, the release and the counts', async () => {
    const got: HookDocument[] = [];
    const n = createNotifier({
      sinks: [sink(['run.started', 'cluster.finished', 'run.finished', 'run.failed'])],
      run,
      env: { env: {}, childEnv: {} },
      onWarning: () => undefined,
      deliverFor: () => async (doc) => void got.push(doc),
    });
    n.observe(started);
    n.observe(host('host.done', 'mw1', 'appserver'));
    n.observe({ ...base, event: 'batch.finished', dc: 'eqiad', cluster: 'appserver', batch: 1, ok: 1, failed: 0 });
    n.observe(host('host.failed', 'mw2', 'appserver'));
    n.observe({ ...base, event: 'batch.finished', dc: 'eqiad', cluster: 'appserver', batch: 2, ok: 0, failed: 1 });
    n.observe(host('host.done', 'api1', 'api'));
    n.observe(finished(1));
    await n.flush();
    expect(got.map((d) => `${d.event} ${d.cluster ?? ''}`)).toEqual([
      'run.started ',
      'cluster.finished appserver',
      'cluster.finished api',
      'run.finished ',
      'run.failed ',
    ]);
    expect(got[0]).toMatchObject({
      runId: 'run-1',
      who: 'alice@deploy1',
      command: 'rollout sync --release r2',
      reason: 'deploy r2',
      release: 'r2',
    });
    expect(got[1]?.counts).toEqual({ ok: 1, failed: 1, skipped: 0 });
    expect(got[2]?.counts).toEqual({ ok: 1, failed: 0, skipped: 0 });
    expect(got[4]).toMatchObject({ exitCode: 1, counts: { ok: 2, failed: 1, skipped: 0 } });
    expect(got[4]?.summary).toMatch(/FAILED \(exit 1\)/);
  });

  it('sends no run.failed for a run that exits 0', async () => {
    const got: string[] = [];
    const n = createNotifier({
      sinks: [sink(['run.failed'])],
      run,
      env: { env: {}, childEnv: {} },
      onWarning: () => undefined,
      deliverFor: () => async (doc) => void got.push(doc.event),
    });
    n.observe(started);
    n.observe(finished(0));
    await n.flush();
    expect(got).toEqual([]);
  });

  it('retries a failing sink twice by default, then warns once, and goes on with the next sink', async () => {
    const attempts: string[] = [];
    const warnings: string[] = [];
    const n = createNotifier({
      sinks: [sink(['run.started']), { ...sink(['run.started']), name: 'notify[1]' }],
      run,
      env: { env: {}, childEnv: {} },
      onWarning: (m) => void warnings.push(m),
      sleep: async () => undefined,
      deliverFor: (s) => async () => {
        attempts.push(s.name);
        if (s.name === 'notify[0]') throw new Error('connect ECONNREFUSED 127.0.0.1:1');
      },
    });
    n.observe(started);
    await n.flush();
    expect(attempts).toEqual(['notify[0]', 'notify[0]', 'notify[0]', 'notify[1]']);
    expect(warnings).toEqual([
      'notify notify[0] (x): run.started not delivered after 3 attempt(s): connect ECONNREFUSED 127.0.0.1:1',
    ]);
  });

  it('turns the failure budget warning into budget.tripped and canary events into canary.verdict', async () => {
    const got: HookDocument[] = [];
    const n = createNotifier({
      sinks: [sink(['budget.tripped', 'canary.verdict'])],
      run,
      env: { env: {}, childEnv: {} },
      onWarning: () => undefined,
      deliverFor: () => async (doc) => void got.push(doc),
    });
    n.observe(started);
    n.observe({ ...base, event: 'canary.failed', dc: 'eqiad', cluster: 'appserver', hosts: ['mw1'], checks: [] });
    n.observe({
      ...base,
      event: 'run.warning',
      message: 'failure budget exceeded (appserver@eqiad: 1 failed host(s), budget 0): no new batches will start',
    });
    await n.flush();
    expect(got.map((d) => d.event)).toEqual(['canary.verdict', 'budget.tripped']);
    expect(got[0]?.detail).toMatchObject({ verdict: 'failed', hosts: ['mw1'] });
  });
});
