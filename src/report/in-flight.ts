import type { RolloutEvent } from './events.js';

/** The hosts of a cluster between their dispatch and their end, from `atMs` (relative to the run's first event) on. */
export interface InFlightPoint {
  readonly atMs: number;
  readonly hosts: number;
}

/**
 * Per cluster (`dc\0cluster`) of a window run, its hosts in flight over time: a step each time a
 * host is dispatched or ends. Clusters without host.dispatched (barrier runs) have none. Pure.
 */
export function inFlightSeries(events: readonly RolloutEvent[], startEpochMs: number): Map<string, InFlightPoint[]> {
  const series = new Map<string, InFlightPoint[]>();
  const flying = new Map<string, Set<string>>();
  for (const e of events) {
    if (!('host' in e) || !('cluster' in e)) continue;
    const k = `${e.dc}\u0000${e.cluster}`;
    const hosts = flying.get(k) ?? new Set<string>();
    const before = hosts.size;
    if (e.event === 'host.dispatched') hosts.add(e.host);
    else if (e.event === 'host.done' || e.event === 'host.failed' || e.event === 'host.skipped') hosts.delete(e.host);
    if (hosts.size === before) continue;
    flying.set(k, hosts);
    const points = series.get(k) ?? [{ atMs: 0, hosts: 0 }];
    points.push({ atMs: Date.parse(e.time) - startEpochMs, hosts: hosts.size });
    series.set(k, points);
  }
  return series;
}
