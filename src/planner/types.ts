import type { Amount, BatchMode } from '../inventory/types.js';
import type { WindowPlan } from './window.js';
import type { Pooled } from '../pool/types.js';

/** Which clusters a command touches. */
export type Selection =
  | { readonly kind: 'sync'; readonly dcs: readonly string[]; readonly clusters: readonly string[] }
  | { readonly kind: 'restart'; readonly dc: string; readonly cluster: string };

export interface PlanOptions {
  readonly emergency: boolean;
  /** --batch-size: replaces every selected cluster's batch.size. */
  readonly batchSize: readonly Amount[] | undefined;
  /** The fleet-wide cap (--max-concurrency): no batch is wider. */
  readonly maxBatch?: number | undefined;
  /** --batch-mode: replaces every selected cluster's batch.mode. */
  readonly batchMode?: BatchMode | undefined;
}

export interface PlannedHost {
  readonly host: string;
  readonly dc: string;
  readonly cluster: string;
  readonly service: string;
  /** State read: only `yes` and `no` hosts are planned. */
  readonly pooled: Extract<Pooled, 'yes' | 'no'>;
  readonly weight: number;
  /** True for `yes` hosts in graceful runs: this run depools and repools it. */
  readonly depool: boolean;
}

export interface PlannedBatch {
  readonly hosts: readonly PlannedHost[];
}

export interface SkippedHost {
  readonly host: string;
  /** `inactive`, `missing` (no key in etcd) or `malformed: …`. */
  readonly reason: string;
}

export interface HostCounts {
  /** Hosts in the inventory for this cluster. */
  readonly total: number;
  readonly yes: number;
  readonly no: number;
  readonly inactive: number;
  readonly missing: number;
  readonly malformed: number;
}

export interface GuardArithmetic {
  readonly minPooled: Amount;
  /** T: the cluster's `yes` and `no` hosts (missing and malformed ones get no traffic, like inactive ones). */
  readonly considered: number;
  /** ceil(minPooled × T). */
  readonly required: number;
  /** Hosts pooled now. */
  readonly pooled: number;
  /** pooled − required, at least 0: how many `yes` hosts one batch may depool. */
  readonly maxDepool: number;
  /** e.g. "min 50% of 20 → 10 must stay pooled; 18 pooled → at most 8 depooled at once". */
  readonly text: string;
}

export interface ClusterPlan {
  readonly dc: string;
  readonly cluster: string;
  readonly service: string;
  readonly counts: HostCounts;
  /** Hosts to restart (yes + no). */
  readonly toRestart: number;
  readonly batchSize: readonly Amount[];
  /** e.g. "10% of 20 hosts → 2 per batch, rounded up". */
  readonly batchText: string;
  /** Null for emergency plans: nothing is depooled. */
  readonly guard: GuardArithmetic | null;
  readonly batches: readonly PlannedBatch[];
  /** `window`: hosts in plan order (the batches, flattened), a new one as a slot frees; `barrier`: batch by batch. */
  readonly mode: BatchMode;
  /** The window's widths up the ramp (window mode only; the canary batch, if any, still runs as a barrier first). */
  readonly window?: WindowPlan;
  readonly skipped: readonly SkippedHost[];
  /** Why no batch can start: set when not even one `yes` host may be depooled. */
  readonly blocked: { readonly reason: string; readonly pooled: number; readonly required: number } | null;
  /** The canary batch's hosts (batch 1), when the cluster has `canary:`: the gate runs after it. */
  readonly canary?: readonly string[];
}

export interface Plan {
  readonly emergency: boolean;
  readonly clusters: readonly ClusterPlan[];
}
