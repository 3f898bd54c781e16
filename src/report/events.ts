/** The closed set of events (docs/events.md). They feed the pino log, the terminal and --json NDJSON. */
import type { HostStep } from '../steps.js';

export type { HostStep } from '../steps.js';

interface Base {
  readonly time: string;
  readonly runId: string;
}

export type RolloutEvent =
  | (Base & {
      readonly event: 'run.started';
      readonly command: string;
      readonly argv: readonly string[];
      readonly user: string;
      readonly machine: string;
      readonly pid: number;
      readonly emergency: boolean;
      readonly release: string | null;
      /** --ignore-freeze over a freeze in force: who froze and why, said in the run's first event. */
      readonly freezeIgnored?: readonly string[];
      readonly clusters: readonly {
        readonly dc: string;
        readonly cluster: string;
        readonly hosts: number;
        readonly batches: number;
        /** `window` or `barrier` (absent in logs written before batch.mode: barrier). */
        readonly mode?: 'window' | 'barrier';
        /** Window mode: the window's first width. */
        readonly width?: number;
      }[];
    })
  | (Base & {
      readonly event: 'host.dispatched';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      /** The window's width when the host started. */
      readonly width: number;
      /** The cluster's hosts in flight, this one included. */
      readonly inFlight: number;
    })
  | (Base & {
      readonly event: 'batch.started';
      readonly dc: string;
      readonly cluster: string;
      readonly batch: number;
      readonly batches: number;
      readonly hosts: readonly string[];
    })
  | (Base & {
      readonly event: 'capacity.waiting';
      readonly dc: string;
      readonly cluster: string;
      readonly pooled: number;
      readonly required: number;
      readonly wanted: number;
    })
  | (Base & {
      readonly event: 'slot.waiting';
      readonly dc: string;
      readonly cluster: string;
      readonly batch: number;
      readonly hosts: readonly string[];
      readonly scope: string;
      readonly limit: number;
      readonly held: number;
      readonly queuedAhead: number;
      readonly holders: readonly SlotHolderView[];
    })
  | (Base & {
      readonly event: 'slot.acquired';
      readonly dc: string;
      readonly cluster: string;
      readonly batch: number;
      readonly hosts: readonly string[];
      readonly scope: string;
      readonly waitedMs: number;
    })
  | (Base & {
      readonly event: 'canary.soaking';
      readonly dc: string;
      readonly cluster: string;
      readonly hosts: readonly string[];
      readonly seconds: number;
    })
  | (Base & {
      readonly event: 'canary.passed';
      readonly dc: string;
      readonly cluster: string;
      readonly hosts: readonly string[];
      readonly checks: readonly GateCheck[];
    })
  | (Base & {
      readonly event: 'canary.failed';
      readonly dc: string;
      readonly cluster: string;
      readonly hosts: readonly string[];
      readonly checks: readonly GateCheck[];
    })
  | (Base & {
      readonly event: 'canary.skipped';
      readonly dc: string;
      readonly cluster: string;
      readonly hosts: readonly string[];
      readonly reason: string;
    })
  | (Base & {
      readonly event: 'host.depooled';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly modRevision: number;
    })
  | (Base & {
      readonly event: 'lb.confirmed';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly agents: readonly string[];
      readonly waitedMs: number;
    })
  | (Base & {
      readonly event: 'lb.propagation-assumed';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly seconds: number;
      /** Why nothing confirms: no agent registered (absent), or `lb.confirm: none`. */
      readonly because?: 'confirm-none';
    })
  | (Base & {
      readonly event: 'lb.repool-confirmed';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly agents: readonly string[];
      readonly waitedMs: number;
    })
  | (Base & {
      readonly event: 'host.drained';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly active: number;
      readonly waitedMs: number;
    })
  | (Base & {
      readonly event: 'host.restarted';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly exitCode: number;
      readonly durationMs: number;
    })
  | (Base & {
      readonly event: 'health.passed';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly attempts: number;
      readonly detail: string;
    })
  | (Base & {
      readonly event: 'health.failed';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly attempts: number;
      readonly detail: string;
    })
  | (Base & {
      readonly event: 'host.switched';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly slot: 'A' | 'B';
      readonly master: string | null;
      readonly waitedMs: number;
    })
  | (Base & {
      readonly event: 'host.repooled';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly modRevision: number;
    })
  | (Base & {
      readonly event: 'host.repool-skipped';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly reason: string;
    })
  | (Base & {
      readonly event: 'host.skipped';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly reason: string;
    })
  | (Base & {
      readonly event: 'host.done';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly durationMs: number;
    })
  | (Base & {
      readonly event: 'host.failed';
      readonly dc: string;
      readonly cluster: string;
      readonly host: string;
      readonly step: HostStep;
      readonly reason: string;
      readonly code: string;
      readonly depooled: boolean;
    })
  | (Base & {
      readonly event: 'batch.finished';
      readonly dc: string;
      readonly cluster: string;
      readonly batch: number;
      readonly ok: number;
      readonly failed: number;
    })
  | (Base & { readonly event: 'run.warning'; readonly message: string })
  | (Base & { readonly event: 'run.interrupted'; readonly signal: string })
  /** Steering (src/orchestrator/steering.ts): `by` is user@machine, or why the run itself paused (a question on failure). */
  | (Base & { readonly event: 'run.paused'; readonly by: string; readonly reason: string })
  | (Base & { readonly event: 'run.resumed'; readonly by: string; readonly pausedMs: number })
  /** `rollout abort`, or the deadline (`by: "deadline"`): nothing new starts, running steps finish, exit 1. */
  | (Base & { readonly event: 'run.aborted'; readonly by: string; readonly reason: string })
  | (Base & {
      readonly event: 'run.finished';
      readonly exitCode: number;
      readonly ok: number;
      readonly failed: number;
      readonly skipped: number;
      readonly notStarted: number;
      readonly durationMs: number;
    });

/** A run holding restart slots a waiting batch waits on. */
export interface SlotHolderView {
  readonly runId: string;
  readonly user: string;
  readonly machine: string;
  readonly hosts: readonly string[];
}

/** One gate of a canary: what it measured and whether it said go. */
export interface GateCheck {
  readonly gate: 'haproxyStats' | 'command' | 'url';
  readonly ok: boolean;
  /** The figures in words, e.g. "canaries 19.8% 5xx (99/500) over 30s; …". */
  readonly detail: string;
  /** The same figures as numbers (haproxyStats: ratios and counts; command: exitCode; url: status). */
  readonly figures: Readonly<Record<string, number>>;
}

export type EventName = RolloutEvent['event'];

/** Receives every event of a run, in order. Implementations: tty, lines, ndjson (src/report/). */
export interface Reporter {
  emit(event: RolloutEvent): void;
  /** Called once at the end; renders the summary where the reporter has one. */
  close(): Promise<void>;
}
