import { describe, expect, it } from 'vitest';
import { LiveTracker } from '../../../src/coordination/live.js';
import type { RolloutEvent } from '../../../src/report/events.js';

const base = { time: '2026-12-04T02:00:00.000Z', runId: 'r-1' };
const started: RolloutEvent = {
  ...base,
  event: 'run.started',
  command: 'sync',
  argv: ['sync'],
  user: 'alice',
  machine: 'deploy1',
  pid: 1,
  emergency: false,
  release: null,
  clusters: [
    { dc: 'eqiad', cluster: 'appserver', hosts: 2, batches: 2 },
    { dc: 'eqiad', cluster: 'api', hosts: 1, batches: 1 },
  ],
};
const where = { dc: 'eqiad', cluster: 'appserver' } as const;

describe('the live view of a run', () => {
  it('follows state and progress per cluster from the events', () => {
    const t = new LiveTracker();
    expect(t.apply(started)).toBe('state');
    expect(t.current()?.state).toBe('running');
    expect(t.apply({ ...base, event: 'host.done', ...where, host: 'mw1', durationMs: 1 })).toBe('progress');
    expect(t.apply({ ...base, event: 'run.paused', by: 'bob@laptop', reason: 'alert' })).toBe('state');
    expect(t.current()).toMatchObject({ state: 'paused', detail: 'bob@laptop: alert' });
    t.apply({ ...base, event: 'run.resumed', by: 'bob@laptop', pausedMs: 5000 });
    expect(t.current()).toMatchObject({ state: 'running', detail: null });
    t.apply({ ...base, event: 'run.paused', by: 'the terminal', reason: 'asking: mw2 failed at health' });
    expect(t.current()?.state).toBe('asking');
    t.apply({ ...base, event: 'run.resumed', by: 'the terminal', pausedMs: 1 });
    expect(t.current()?.clusters.map((c) => [c.cluster, c.done, c.failed])).toEqual([
      ['appserver', 1, 0],
      ['api', 0, 0],
    ]);
  });

  it('waits for capacity only while every cluster with work left waits for it', () => {
    const t = new LiveTracker();
    t.apply(started);
    t.apply({ ...base, event: 'capacity.waiting', ...where, pooled: 1, required: 1, wanted: 1 });
    expect(t.current()?.state).toBe('running');
    t.apply({ ...base, event: 'capacity.waiting', dc: 'eqiad', cluster: 'api', pooled: 1, required: 1, wanted: 1 });
    expect(t.current()?.state).toBe('waiting for capacity');
    t.apply({ ...base, event: 'host.depooled', dc: 'eqiad', cluster: 'api', host: 'mw9', modRevision: 3 });
    expect(t.current()?.state).toBe('running');
  });
});
