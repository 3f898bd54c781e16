import type { HostCounts, Plan } from '../planner/types.js';
import { formatAmount } from '../planner/amount.js';

/** The `--json` document of `rollout plan`: host names as strings, amounts as written ("10%", "3"). */
export interface PlanJson {
  readonly emergency: boolean;
  readonly clusters: readonly {
    readonly dc: string;
    readonly cluster: string;
    readonly service: string;
    readonly counts: HostCounts;
    readonly toRestart: number;
    readonly batchSize: readonly string[];
    readonly batchText: string;
    readonly guard: {
      readonly minPooled: string;
      readonly considered: number;
      readonly required: number;
      readonly pooled: number;
      readonly maxDepool: number;
      readonly text: string;
    } | null;
    /** `hosts`: every host of the batch, in order; `depool`: those this run depools (graceful `yes` hosts). */
    readonly batches: readonly { readonly hosts: readonly string[]; readonly depool: readonly string[] }[];
    readonly skipped: readonly { readonly host: string; readonly reason: string }[];
    readonly blocked: { readonly reason: string; readonly pooled: number; readonly required: number } | null;
    /** The canary batch's hosts (batch 1), when the cluster has `canary:`. */
    readonly canary?: readonly string[];
    /** `window` or `barrier` (docs/inventory.md batch.mode). */
    readonly mode: 'window' | 'barrier';
    /** Window mode: the width of each stage up the ramp (the last repeats), in words too. */
    readonly window?: { readonly widths: readonly number[]; readonly text: string };
  }[];
}

export function planToJson(plan: Plan): PlanJson {
  return {
    emergency: plan.emergency,
    clusters: plan.clusters.map((c) => ({
      dc: c.dc,
      cluster: c.cluster,
      service: c.service,
      counts: { ...c.counts },
      toRestart: c.toRestart,
      batchSize: c.batchSize.map(formatAmount),
      batchText: c.batchText,
      guard:
        c.guard === null
          ? null
          : {
              minPooled: formatAmount(c.guard.minPooled),
              considered: c.guard.considered,
              required: c.guard.required,
              pooled: c.guard.pooled,
              maxDepool: c.guard.maxDepool,
              text: c.guard.text,
            },
      batches: c.batches.map((b) => ({
        hosts: b.hosts.map((h) => h.host),
        depool: b.hosts.filter((h) => h.depool).map((h) => h.host),
      })),
      skipped: c.skipped.map((s) => ({ host: s.host, reason: s.reason })),
      blocked: c.blocked === null ? null : { ...c.blocked },
      ...(c.canary ? { canary: [...c.canary] } : {}),
      mode: c.mode,
      ...(c.window ? { window: { widths: [...c.window.widths], text: c.window.text } } : {}),
    })),
  };
}
