import type { RolloutEvent } from '../../../src/report/events.js';

type Without<E> = E extends RolloutEvent ? Omit<E, 'time' | 'runId'> : never;

export interface FleetRunSpec {
  readonly clusters: readonly { readonly dc: string; readonly cluster: string; readonly hosts: number }[];
  /** Hosts per batch. */
  readonly batchSize: number;
  /** Hosts that fail their health check (and stay depooled). */
  readonly failing?: readonly string[];
  /** Run id of every event. */
  readonly runId?: string;
}

export const FLEET_T0 = Date.parse('2026-11-24T10:00:00.000Z');

/** `mw<dc digit><cluster index><nnn>.<dc>`: unique names across clusters. */
export function fleetHost(dc: string, clusterIndex: number, i: number): string {
  return `mw${dc === 'eqiad' ? 1 : 2}${clusterIndex}${String(i + 1).padStart(3, '0')}.${dc}`;
}

/**
 * A synthetic rolling restart: every cluster in parallel, batches of `batchSize`, each host going
 * through every step with a few hundred ms of deterministic jitter (as a real fleet does).
 */
export function fleetRun(spec: FleetRunSpec): RolloutEvent[] {
  const runId = spec.runId ?? '20261124T100000Z-f1ee70';
  const failing = new Set(spec.failing ?? []);
  const events: RolloutEvent[] = [];
  const at = (ms: number, e: Without<RolloutEvent>): void =>
    void events.push({ ...e, time: new Date(FLEET_T0 + ms).toISOString(), runId } as RolloutEvent);
  at(0, {
    event: 'run.started',
    command: 'sync',
    argv: ['sync'],
    user: 'alice',
    machine: 'deploy1',
    pid: 1,
    emergency: false,
    release: null,
    clusters: spec.clusters.map((c) => ({ ...c, batches: Math.ceil(c.hosts / spec.batchSize) })),
  });
  let end = 0;
  spec.clusters.forEach((c, ci) => {
    const batches = Math.ceil(c.hosts / spec.batchSize);
    let t = 10;
    for (let b = 0; b < batches; b += 1) {
      const hosts = Array.from({ length: Math.min(spec.batchSize, c.hosts - b * spec.batchSize) }, (_, k) =>
        fleetHost(c.dc, ci, b * spec.batchSize + k),
      );
      const base = { dc: c.dc, cluster: c.cluster };
      at(t, { event: 'batch.started', ...base, batch: b + 1, batches, hosts });
      let last = t;
      let failed = 0;
      hosts.forEach((host, k) => {
        const j = (k * 37) % 400; // jitter, deterministic
        let s = t + 50 + j;
        const step = (ms: number, e: Without<RolloutEvent>): void => {
          s += ms;
          at(s, e);
        };
        step(100, { event: 'host.depooled', ...base, host, modRevision: 1 });
        step(1000, { event: 'lb.confirmed', ...base, host, agents: ['lb1'], waitedMs: 1000 });
        step(2000 + j, { event: 'host.drained', ...base, host, active: 0, waitedMs: 2000 });
        step(1500, { event: 'host.restarted', ...base, host, exitCode: 0, durationMs: 1500 });
        if (failing.has(host)) {
          step(5000, { event: 'health.failed', ...base, host, attempts: 5, detail: 'HTTP 503 from http://x/' });
          at(s, {
            event: 'host.failed',
            ...base,
            host,
            step: 'health',
            reason: 'health check failed after 5 attempts (last: HTTP 503)',
            code: 'E_HEALTH',
            depooled: true,
          });
          failed += 1;
        } else {
          step(800, { event: 'health.passed', ...base, host, attempts: 1, detail: 'HTTP 200' });
          step(100, { event: 'host.repooled', ...base, host, modRevision: 2 });
          step(900, { event: 'lb.repool-confirmed', ...base, host, agents: ['lb1'], waitedMs: 900 });
          at(s, { event: 'host.done', ...base, host, durationMs: s - t });
        }
        last = Math.max(last, s);
      });
      at(last + 10, { event: 'batch.finished', ...base, batch: b + 1, ok: hosts.length - failed, failed });
      t = last + 20;
    }
    end = Math.max(end, t);
  });
  const failed = failing.size;
  const total = spec.clusters.reduce((n, c) => n + c.hosts, 0);
  at(end + 10, {
    event: 'run.finished',
    exitCode: failed ? 1 : 0,
    ok: total - failed,
    failed,
    skipped: 0,
    notStarted: 0,
    durationMs: end + 10,
  });
  return events.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}
