import type { RolloutEvent } from '../../../src/report/events.js';

type Without<E> = E extends RolloutEvent ? Omit<E, 'time' | 'runId'> : never;

export const T0 = Date.parse('2026-11-24T10:00:00.000Z');

/** An event at `seconds` after T0 of run "r-1". */
export function at(seconds: number, event: Without<RolloutEvent>): RolloutEvent {
  return { ...event, time: new Date(T0 + seconds * 1000).toISOString(), runId: 'r-1' } as RolloutEvent;
}

const app = { dc: 'eqiad', cluster: 'appserver' } as const;
const api = { dc: 'eqiad', cluster: 'api_appserver' } as const;

export const started = at(0, {
  event: 'run.started',
  command: 'sync',
  argv: ['sync', '--release', 'r2'],
  user: 'alice',
  machine: 'deploy1',
  pid: 42,
  emergency: false,
  release: 'r2',
  clusters: [
    { ...app, hosts: 3, batches: 2 },
    { ...api, hosts: 4, batches: 2 },
  ],
});

/** A host that goes through every step in the given seconds. */
export function goodHost(host: string, from: number, c: { dc: string; cluster: string } = app): RolloutEvent[] {
  return [
    at(from + 1, { event: 'host.depooled', ...c, host, modRevision: 10 }),
    at(from + 2, { event: 'lb.propagation-assumed', ...c, host, seconds: 3 }),
    at(from + 3, { event: 'host.drained', ...c, host, active: 0, waitedMs: 900 }),
    at(from + 4, { event: 'host.restarted', ...c, host, exitCode: 0, durationMs: 1200 }),
    at(from + 5, { event: 'health.passed', ...c, host, attempts: 1, detail: 'HTTP 200, release r2' }),
    at(from + 6, { event: 'host.repooled', ...c, host, modRevision: 11 }),
    at(from + 6, { event: 'host.done', ...c, host, durationMs: 6000 }),
  ];
}

/**
 * appserver: batch 1 = mw1 (done), batch 2 = mw2 (done), mw3 (fails health, stays depooled);
 * api_appserver: batch 1 = mw4 (done), mw5 (inactive, skipped); then the failure budget stops
 * the run, so 2 api hosts never start.
 */
export const failedRun: RolloutEvent[] = [
  started,
  at(0, { event: 'batch.started', ...app, batch: 1, batches: 2, hosts: ['mw1'] }),
  ...goodHost('mw1', 0),
  at(7, { event: 'batch.finished', ...app, batch: 1, ok: 1, failed: 0 }),
  at(0, { event: 'batch.started', ...api, batch: 1, batches: 2, hosts: ['mw4', 'mw5'] }),
  ...goodHost('mw4', 0, api),
  at(1, { event: 'host.skipped', ...api, host: 'mw5', reason: 'inactive' }),
  at(7, { event: 'batch.finished', ...api, batch: 1, ok: 1, failed: 0 }),
  at(8, { event: 'batch.started', ...app, batch: 2, batches: 2, hosts: ['mw2', 'mw3'] }),
  ...goodHost('mw2', 8),
  at(9, { event: 'host.depooled', ...app, host: 'mw3', modRevision: 12 }),
  at(10, { event: 'run.warning', message: 'etcd answered slowly (2.1 s)' }),
  at(20, { event: 'health.failed', ...app, host: 'mw3', attempts: 5, detail: 'HTTP 503 from http://mw3/' }),
  at(20, {
    event: 'host.failed',
    ...app,
    host: 'mw3',
    step: 'health',
    reason: 'health check failed after 5 attempts over 10s (last: HTTP 503 from http://mw3/)',
    code: 'E_HEALTH',
    depooled: true,
  }),
  at(20, { event: 'batch.finished', ...app, batch: 2, ok: 1, failed: 1 }),
  at(21, { event: 'run.finished', exitCode: 1, ok: 3, failed: 1, skipped: 1, notStarted: 2, durationMs: 21_000 }),
];
