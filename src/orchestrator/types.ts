import type { Fence } from '../kv/fence.js';
import type { Amount, Inventory } from '../inventory/types.js';
import type { Plan } from '../planner/types.js';
import type { PoolKey, PoolValue } from '../pool/types.js';

import type { JournalHost } from '../coordination/journal.js';

/** One host's line in the run journal (src/coordination/journal.ts stores it under /rollout/v1/runs/). */
export type JournalHostRecord = JournalHost;
export type { JournalPhase } from '../coordination/journal.js';

/** What the orchestrator needs of the journal: record before every pool write (see src/coordination/journal.ts). */
export interface JournalWriter {
  record(entry: JournalHostRecord): Promise<void>;
  recordAll(entries: readonly JournalHostRecord[]): Promise<void>;
  put(entry: JournalHostRecord): { readonly key: string; readonly value: string };
}

export interface RunOptions {
  readonly runId: string;
  readonly emergency: boolean;
  /** With --release: the health check must see this release id. */
  readonly release: string | undefined;
  /** --failure-budget: replaces every cluster's budget. Emergency runs have none unless given. */
  readonly failureBudget: Amount | undefined;
  readonly parallelClusters: number;
  readonly capacityWaitSeconds: number;
  /** Soft stop (first SIGINT/SIGTERM, a lost lock, a preemption): start nothing new, finish running steps, repool. */
  readonly stop: AbortSignal;
  /** The operator's own interrupt, part of `stop`: only it makes exit 130 (unset: every stop does). */
  readonly interrupt?: AbortSignal;
  /** The run's lock keys: every pool write compares them, so a run that lost its locks writes nothing. */
  readonly fence?: Fence;
  /** The fleet-wide cap (--max-concurrency, run.maxConcurrentRestarts): slots taken through Deps.slots. */
  readonly restartSlots?: RestartSlotsOption;
  /** Canary gates: skipped (and said so in the log) with --skip-canary-gate. */
  readonly canaryGate?: CanaryGateOption;
  /** --if-opcache-above P%: restart only hosts whose opcache use is above P (src/orchestrator/strategies/opcache.ts). */
  readonly opcacheAbove?: number;
  /** Operator steering (pause, resume, abort, deadline, pace): asked before every dispatch (a batch, or a window's host). */
  readonly steering?: Steering;
  /** Asked when a host fails (a terminal run with run.askOnFailure): retry it, skip it, or abort the run. */
  readonly askOnFailure?: FailureQuestion;
}

/** Who ran what: the first event of a run says so. */
export interface RunMeta {
  readonly command: string;
  readonly argv: readonly string[];
  readonly user: string;
  readonly machine: string;
  readonly pid: number;
  /** --ignore-freeze over freezes in force: what was overridden, said in run.started. */
  readonly freezeIgnored?: readonly string[];
}

export interface RunInput {
  readonly meta: RunMeta;
  readonly inventory: Inventory;
  readonly plan: Plan;
  readonly options: RunOptions;
  readonly journal: JournalWriter;
  /** `--resume`: hosts the stopped run left depooled, proven still its by revision: this run's to restart and repool. */
  readonly adopted?: ReadonlyMap<string, AdoptedHost>;
}

/** A host a stopped run depooled and left: each key still holding its write (a host in several pools has several). */
export interface AdoptedHost {
  readonly keys: readonly AdoptedKey[];
}

/** One key of an adopted host: what it was before, and the stopped run's write (to CAS the repool). */
export interface AdoptedKey {
  readonly key: PoolKey;
  readonly prior: PoolValue;
  readonly priorRevision: number;
  readonly wrote: { readonly value: PoolValue; readonly revision: number };
}

/** What the fleet-wide cap is shared by (docs/inventory.md `run.restartSlotScope`). */
export type RestartScope = 'datacenter-service' | 'datacenter-cluster' | 'service';

export interface RestartSlotsOption {
  readonly limit: number;
  readonly scope: RestartScope;
  /** Who holds the slots, as `rollout status` and the waiting runs show it. */
  readonly who: { readonly user: string; readonly machine: string; readonly pid: number };
}

/** Canary gates of a run (src/orchestrator/guards/canary-gate.ts reads them). */
export interface CanaryGateOption {
  /** --skip-canary-gate: canaries still go first, nobody judges them; the log says so. */
  readonly skip: boolean;
}

/**
 * Asked by the sequencer before it starts anything new in a cluster (a barrier batch, a window
 * dispatch): resolves 'go' when it may start (after waiting out a pause or the pace), 'stop' when
 * nothing new may start (aborted, past the deadline). It never interrupts what already runs.
 */
export interface Steering {
  /** True with a pace: a window then dispatches one host at a time, so the pace spaces hosts, not groups. */
  readonly paced: boolean;
  beforeDispatch(cluster: { readonly dc: string; readonly cluster: string }): Promise<'go' | 'stop'>;
}

/** A failed host as the question on failure shows it. */
export interface FailedHostView {
  readonly dc: string;
  readonly cluster: string;
  readonly host: string;
  readonly step: string;
  readonly reason: string;
  readonly code: string;
  /** False when its failed step cannot be run again (a pool conflict, a pre-check): only skip or abort. */
  readonly canRetry: boolean;
}

/**
 * Asked by the sequencer once a host has failed, before it is reported: 'retry' runs the host's
 * steps again from the one that failed, 'skip' leaves it failed (depooled), 'abort' leaves it failed
 * and the implementation stops the run (as `rollout abort`). While it waits, the run is held paused.
 */
export interface FailureQuestion {
  ask(failed: FailedHostView): Promise<'retry' | 'skip' | 'abort'>;
}
