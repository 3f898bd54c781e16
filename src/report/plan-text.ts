import type { ClusterPlan, HostCounts, Plan, PlannedHost } from '../planner/types.js';

/** The human rendering of a plan (`rollout plan`, `--dry-run`): arithmetic first, then batches. No colours. */
export function renderPlanText(plan: Plan): string {
  const mode = plan.emergency
    ? 'EMERGENCY plan: hard restart in batches, no depool, no drain: requests in flight are killed'
    : plan.clusters.some((c) => c.window !== undefined)
      ? 'Plan: per host depool → LB confirm → drain → restart → health → repool, a sliding window per cluster'
      : 'Plan: per batch depool → LB confirm → drain → restart → health → repool';
  const sections = plan.clusters.map((c) => renderCluster(c, plan.emergency));
  return [mode, '', ...sections.flatMap((s) => [s, '']), summary(plan)].join('\n') + '\n';
}

function renderCluster(c: ClusterPlan, emergency: boolean): string {
  const lines = [
    `${c.cluster}@${c.dc} (${c.service || 'no hosts'})`,
    `  hosts:   ${describeCounts(c.counts)}`,
    `  batches: ${c.batchText}`,
  ];
  if (c.window !== undefined)
    lines.push(
      `  window:  ${c.window.text}; a host starts as soon as one of the cluster's completes (the batches below are the order)`,
    );
  lines.push(c.guard === null ? '  guard:   none (emergency: nothing is depooled)' : `  guard:   ${c.guard.text}`);
  // The reason carries the numbers (pooled, required, minPooled).
  if (c.blocked !== null) lines.push(`  BLOCKED: ${c.blocked.reason}`);
  if (c.canary)
    lines.push(
      `  canary:  batch 1 (${c.canary.join(', ')}); the other ${c.window ? 'hosts' : 'batches'} wait for its gate after the soak`,
    );
  const width = String(c.batches.length).length;
  c.batches.forEach((batch, i) => {
    lines.push(`  ${String(i + 1).padStart(width)}. ${batch.hosts.map((h) => describeHost(h, emergency)).join(', ')}`);
  });
  for (const s of c.skipped) lines.push(`  skipped ${s.host}: ${s.reason}`);
  return lines.join('\n');
}

function describeHost(host: PlannedHost, emergency: boolean): string {
  if (host.pooled === 'no') return `${host.host} (depooled by others: restart only)`;
  // Only a dual-master host is a pooled one the graceful plan does not depool.
  return !emergency && !host.depool ? `${host.host} (dual-master: masters swapped, never depooled)` : host.host;
}

function describeCounts(counts: HostCounts): string {
  const parts = [`${counts.yes} pooled`];
  if (counts.no > 0) parts.push(`${counts.no} depooled by others`);
  if (counts.inactive > 0) parts.push(`${counts.inactive} inactive`);
  if (counts.missing > 0) parts.push(`${counts.missing} missing`);
  if (counts.malformed > 0) parts.push(`${counts.malformed} malformed`);
  return `${counts.total} (${parts.join(', ')})`;
}

function summary(plan: Plan): string {
  const hosts = plan.clusters.reduce((n, c) => n + (c.blocked === null ? c.toRestart : 0), 0);
  const batches = plan.clusters.reduce((n, c) => n + c.batches.length, 0);
  const skipped = plan.clusters.reduce((n, c) => n + c.skipped.length, 0);
  const blocked = plan.clusters.filter((c) => c.blocked !== null);
  const text = `${plural(plan.clusters.length, 'cluster')}: ${plural(hosts, 'host')} to restart in ${plural(batches, 'batch', 'batches')}, ${skipped} skipped`;
  if (blocked.length === 0) return text;
  return `${text}; BLOCKED by the capacity guard: ${blocked.map((c) => `${c.cluster}@${c.dc}`).join(', ')}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
