import { hostServices, type InventoryHost } from '../inventory/types.js';
import { hostEntries, hostEntry } from '../pool/host-entry.js';
import type { PlannedHost } from '../planner/types.js';
import type { PoolEntry, PoolKey, PoolSnapshot, PoolValue } from '../pool/types.js';

type PresentEntry = PoolEntry & { readonly state: 'present' };
import type { HostStep } from '../report/events.js';
import { assertTransition, type HostState } from './host-state.js';

/** One key a depool wrote: as read before it, the value written, and (taken over by `--resume`) the key's own write revision. */
export interface WroteKey {
  readonly read: PresentEntry;
  readonly value: PoolValue;
  readonly revision?: number;
}

/** Final word on one host, for the summary and the exit code. */
export interface HostOutcome {
  readonly host: string;
  readonly dc: string;
  readonly cluster: string;
  readonly outcome: 'done' | 'failed' | 'skipped' | 'not-started' | 'interrupted';
  /** The last step the host reached (the failing one for failed hosts). */
  readonly step: HostStep;
  readonly reason: string | undefined;
  readonly code: string | undefined;
  /** True when this run depooled the host and did not put it back. */
  readonly leftDepooled: boolean;
  readonly durationMs: number;
}

/** The mutable record of one host during a run; only the orchestrator changes it. */
export class HostRun {
  state: HostState = 'pending';
  step: HostStep = 'pending';
  /** The pool entry read just before the depool; for a host in several pools, all its keys as one (hostEntry). */
  entry: PoolEntry | undefined;
  /** Each key's entry as read, one per service (set by readFrom). */
  entries: readonly PoolEntry[] = [];
  /** Set once this run's depool write succeeded: what it wrote, to CAS the repool against. */
  wrote: { readonly value: PoolValue; readonly revision: number } | undefined;
  /** Every key the depool wrote (those that were `yes`): as read, and the value written. */
  wroteKeys: readonly WroteKey[] = [];
  /** The repool's revision of each key it put back. */
  repooledKeys: readonly { readonly key: PoolKey; readonly revision: number }[] = [];
  /** True while the host is depooled by this run. */
  depooledByRun = false;
  /** The revision of this run's repool, once repooled. */
  repoolRevision: number | undefined;
  /** Repooled, but not every LB agent has applied it yet: the capacity guard counts it as not pooled. */
  lbUnconfirmed = false;
  failure: { readonly reason: string; readonly code: string } | undefined;
  /** Taken over from a stopped run (`--resume`): its pool state before that run depooled it. */
  adopted = false;
  startedAt = 0;
  finishedAt = 0;

  constructor(
    readonly planned: PlannedHost,
    readonly host: InventoryHost,
  ) {}

  get name(): string {
    return this.planned.host;
  }

  get key(): PoolKey {
    return {
      dc: this.planned.dc,
      cluster: this.planned.cluster,
      service: this.planned.service,
      host: this.planned.host,
    };
  }

  /** Every pool key of the host, one per service it is in. */
  get keys(): readonly PoolKey[] {
    const { dc, cluster, host } = this.planned;
    return hostServices(this.host.settings).map((service) => ({ dc, cluster, service, host }));
  }

  /** Takes the host's keys from a fresh read. */
  readFrom(snapshot: PoolSnapshot): void {
    this.entries = hostEntries(snapshot, this.keys);
    this.entry = hostEntry(this.entries);
  }

  moveTo(state: HostState, step?: HostStep): void {
    assertTransition(this.name, this.state, state);
    this.state = state;
    if (step) this.step = step;
  }

  skip(reason: string, code = 'E_POOL_VALUE'): void {
    this.failure = { reason, code };
    this.moveTo('skipped');
  }

  fail(step: HostStep, reason: string, code: string): void {
    this.step = step;
    this.failure = { reason, code };
    this.moveTo('failed');
  }

  /** Puts a failed host back before its failed step, for a retry (the operator answered so). */
  retry(state: HostState): void {
    // Why: only a failed host goes back; from any other state this is the table's illegal move, and raises.
    if (this.state !== 'failed') assertTransition(this.name, this.state, 'pending');
    this.state = state;
    this.failure = undefined;
  }

  outcome(): HostOutcome {
    const outcome: HostOutcome['outcome'] =
      this.state === 'done'
        ? 'done'
        : this.state === 'failed'
          ? 'failed'
          : this.state === 'interrupted'
            ? 'interrupted'
            : this.state === 'skipped'
              ? 'skipped'
              : 'not-started';
    return {
      host: this.name,
      dc: this.planned.dc,
      cluster: this.planned.cluster,
      outcome,
      step: this.step,
      reason: this.failure?.reason,
      code: this.failure?.code,
      leftDepooled: this.depooledByRun,
      durationMs: this.startedAt === 0 ? 0 : Math.max(0, this.finishedAt - this.startedAt),
    };
  }
}
