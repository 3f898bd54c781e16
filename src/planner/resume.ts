import type { ClusterPlan, Plan } from './types.js';

/** `--resume`: the plan without the hosts the stopped run finished; emptied batches go, the rest keep their order. */
export function withoutHosts(plan: Plan, done: ReadonlySet<string>): Plan {
  const trim = (cp: ClusterPlan): ClusterPlan => {
    const batches = cp.batches
      .map((b) => ({ ...b, hosts: b.hosts.filter((h) => !done.has(h.host)) }))
      .filter((b) => b.hosts.length > 0);
    const canary = cp.canary?.filter((h) => !done.has(h));
    return {
      ...cp,
      batches,
      toRestart: batches.reduce((n, b) => n + b.hosts.length, 0),
      ...(canary === undefined ? {} : { canary }),
    };
  };
  return { ...plan, clusters: plan.clusters.map(trim) };
}
