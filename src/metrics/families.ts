import type { ClusterFigures, RunFigures } from './collector.js';
import { formatSample, seriesKey, type Sample } from './exposition.js';

/** Every metric rollout writes (docs/metrics.md has the same table). */
export const FAMILIES = {
  rollout_hosts_total: { type: 'counter', help: 'Hosts rollout restarted, failed or skipped (result), over all runs.' },
  rollout_runs_total: {
    type: 'counter',
    help: 'Runs that touched the cluster, by result (ok: exit 0; failed: any other exit).',
  },
  rollout_run_duration_seconds: { type: 'gauge', help: 'Duration of the latest run that touched the cluster.' },
  rollout_last_success_timestamp_seconds: {
    type: 'gauge',
    help: 'When a run last finished the cluster with every host restarted and none failed (seconds since the epoch).',
  },
  rollout_host_depooled_seconds: {
    type: 'histogram',
    help: 'Time each host spent depooled by rollout, depool to repool.',
  },
  rollout_canary_failed_requests_total: {
    type: 'counter',
    help: '5xx responses the canary gate saw on the canaries during their soak, over all runs.',
  },
} as const;

export const DEPOOLED_BUCKETS = [5, 10, 20, 30, 60, 120, 300, 600, 1800];

/** Samples by series identity: what the previous file or push held, updated by this run. */
export type SampleSet = Map<string, Sample>;

export function sampleSet(samples: readonly Sample[]): SampleSet {
  return new Map(samples.map((s) => [seriesKey(s.name, s.labels), s] as const));
}

function add(set: SampleSet, name: string, labels: Record<string, string>, by: number): void {
  const key = seriesKey(name, labels);
  set.set(key, { name, labels, value: (set.get(key)?.value ?? 0) + by });
}

function put(set: SampleSet, name: string, labels: Record<string, string>, value: number): void {
  set.set(seriesKey(name, labels), { name, labels, value });
}

/**
 * Applies one cluster's figures to what was there: counters and the histogram go on from their
 * previous values (so rate() and increase() work across runs), gauges are replaced, and the last
 * success timestamp moves only on a success.
 */
export function applyCluster(set: SampleSet, run: RunFigures, c: ClusterFigures): void {
  const base = { dc: c.dc, cluster: c.cluster, mode: c.mode };
  for (const [result, n] of [
    ['restarted', c.restarted],
    ['failed', c.failed],
    ['skipped', c.skipped],
  ] as const)
    add(set, 'rollout_hosts_total', { ...base, result }, n);
  const ok = run.exitCode === 0 && c.failed === 0;
  add(set, 'rollout_runs_total', { ...base, result: ok ? 'ok' : 'failed' }, 1);
  add(set, 'rollout_runs_total', { ...base, result: ok ? 'failed' : 'ok' }, 0);
  put(set, 'rollout_run_duration_seconds', { ...base, result: ok ? 'ok' : 'failed' }, run.durationSeconds);
  if (ok && c.restarted > 0) put(set, 'rollout_last_success_timestamp_seconds', base, Math.round(run.finishedAt));
  for (const le of [...DEPOOLED_BUCKETS.map(String), '+Inf']) {
    const n = c.depooledSeconds.filter((s) => le === '+Inf' || s <= Number(le)).length;
    add(set, 'rollout_host_depooled_seconds_bucket', { ...base, le }, n);
  }
  add(
    set,
    'rollout_host_depooled_seconds_sum',
    base,
    c.depooledSeconds.reduce((a, b) => a + b, 0),
  );
  add(set, 'rollout_host_depooled_seconds_count', base, c.depooledSeconds.length);
  if (c.canaryFailedRequests !== undefined)
    add(set, 'rollout_canary_failed_requests_total', base, c.canaryFailedRequests);
}

function familyOf(name: string): keyof typeof FAMILIES | undefined {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  if (base in FAMILIES && FAMILIES[base as keyof typeof FAMILIES].type === 'histogram')
    return base as keyof typeof FAMILIES;
  return name in FAMILIES ? (name as keyof typeof FAMILIES) : undefined;
}

/** The exposition text of a sample set: HELP and TYPE once per family, rollout's families only. */
export function renderSamples(set: SampleSet): string {
  const byFamily = new Map<string, Sample[]>();
  for (const s of set.values()) {
    const family = familyOf(s.name);
    if (family === undefined) continue;
    byFamily.set(family, [...(byFamily.get(family) ?? []), s]);
  }
  const lines: string[] = [];
  for (const [name, spec] of Object.entries(FAMILIES)) {
    const samples = byFamily.get(name);
    if (samples === undefined) continue;
    lines.push(`# HELP ${name} ${spec.help}`, `# TYPE ${name} ${spec.type}`);
    const order = (s: Sample): string =>
      `${seriesKey(s.name.replace(/_(bucket|sum|count)$/, ''), { ...s.labels, le: '' })}`;
    for (const s of [...samples].sort((a, b) => order(a).localeCompare(order(b)) || bucketRank(a) - bucketRank(b)))
      lines.push(formatSample(s));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function bucketRank(s: Sample): number {
  if (s.name.endsWith('_bucket')) return s.labels['le'] === '+Inf' ? 1e12 : Number(s.labels['le']);
  return s.name.endsWith('_sum') ? 2e12 : 3e12;
}
