import type { HostStep, RolloutEvent } from './events.js';
import { clusterKey, describeEvent, propagationWarning } from './format.js';
import { describeGuardEvent } from './format-guards.js';

export type HostOutcome = 'done' | 'failed' | 'skipped' | 'not-started' | 'interrupted';

/** What happened to one host, from the events of a run. */
export interface HostSummary {
  readonly host: string;
  readonly dc: string;
  readonly cluster: string;
  readonly outcome: HostOutcome;
  /** The last step the host reached (the failing step for a failed host). */
  readonly step: HostStep;
  /** Why it failed, was skipped or interrupted; empty when done. */
  readonly reason: string;
  /** The error code of a failed host. */
  readonly code: string | undefined;
  /** From its batch's start to its last event. */
  readonly durationMs: number;
  /** True when the run left it depooled (a failed host stays depooled for an operator). */
  readonly depooled: boolean;
}

/** Hosts of a cluster that no batch ever reached: only their count is known (run.started counts batch hosts). */
export interface ClusterRemainder {
  readonly dc: string;
  readonly cluster: string;
  readonly notStarted: number;
}

export interface RunSummary {
  readonly runId: string;
  readonly command: string;
  readonly emergency: boolean;
  readonly release: string | null;
  readonly durationMs: number;
  /** From run.finished; null when the events stop before it (crash, still running). */
  readonly exitCode: number | null;
  readonly interruptedBy: string | null;
  /** Failed and interrupted hosts first, then in the order the run reached them. */
  readonly hosts: readonly HostSummary[];
  readonly notStarted: readonly ClusterRemainder[];
  readonly totals: {
    readonly hosts: number;
    readonly done: number;
    readonly failed: number;
    readonly skipped: number;
    readonly notStarted: number;
    readonly interrupted: number;
    readonly leftDepooled: number;
  };
  readonly warnings: readonly string[];
  readonly repoolSkipped: readonly {
    readonly host: string;
    readonly dc: string;
    readonly cluster: string;
    readonly reason: string;
  }[];
}

interface HostState {
  host: string;
  dc: string;
  cluster: string;
  outcome: HostOutcome | undefined;
  step: HostStep;
  reason: string;
  code: string | undefined;
  startMs: number;
  endMs: number;
  depooled: boolean;
  /** Listed in a batch.started: counted against the plan (hosts skipped up front are not). */
  inBatch: boolean;
}

/** The step an event ends (shared with the report's timeline). */
export const stepOf: Partial<Record<RolloutEvent['event'], HostStep>> = {
  'host.depooled': 'depool',
  'lb.confirmed': 'lb-confirm',
  'lb.propagation-assumed': 'lb-confirm',
  'host.drained': 'drain',
  'host.restarted': 'restart',
  'health.passed': 'health',
  'health.failed': 'health',
  'host.switched': 'switch',
  'host.repooled': 'repool',
  'host.repool-skipped': 'repool',
  'host.done': 'done',
};

const outcomeRank: Record<HostOutcome, number> = { failed: 0, interrupted: 1, 'not-started': 2, done: 3, skipped: 4 };

/** Folds the events of a run into what happened to every host. Pure. */
/** The summary folded as events come: reporters keep one record per host, not every event. */
export interface Summarizer {
  apply(event: RolloutEvent): void;
  result(): RunSummary;
}

export function summarize(events: readonly RolloutEvent[]): RunSummary {
  const summarizer = createSummarizer();
  for (const event of events) summarizer.apply(event);
  return summarizer.result();
}

export function createSummarizer(): Summarizer {
  const hosts = new Map<string, HostState>();
  const planned = new Map<string, { dc: string; cluster: string; hosts: number }>();
  const propagation = new Map<string, { seconds: number; hosts: number; because?: 'confirm-none' }>();
  const warnings: string[] = [];
  const repoolSkipped: RunSummary['repoolSkipped'][number][] = [];
  let head: Extract<RolloutEvent, { event: 'run.started' }> | undefined;
  let finished: Extract<RolloutEvent, { event: 'run.finished' }> | undefined;
  let interruptedBy: string | null = null;
  let firstMs: number | undefined;
  let lastMs = 0;
  let firstRunId = '';

  const hostOf = (e: { host: string; dc: string; cluster: string }, atMs: number): HostState => {
    let h = hosts.get(e.host);
    if (!h) {
      h = {
        host: e.host,
        dc: e.dc,
        cluster: e.cluster,
        outcome: undefined,
        step: 'pending',
        reason: '',
        code: undefined,
        startMs: atMs,
        endMs: atMs,
        depooled: false,
        inBatch: false,
      };
      hosts.set(e.host, h);
    }
    h.endMs = atMs;
    return h;
  };

  function apply(event: RolloutEvent): void {
    const atMs = Date.parse(event.time);
    if (firstMs === undefined) firstRunId = event.runId;
    firstMs ??= atMs;
    lastMs = Math.max(lastMs, atMs);
    switch (event.event) {
      case 'run.started':
        head = event;
        for (const c of event.clusters)
          planned.set(clusterKey(c.dc, c.cluster), { dc: c.dc, cluster: c.cluster, hosts: c.hosts });
        return;
      case 'batch.started':
        for (const host of event.hosts) hostOf({ host, dc: event.dc, cluster: event.cluster }, atMs).inBatch = true;
        return;
      case 'run.warning':
        warnings.push(event.message);
        return;
      case 'run.interrupted':
        interruptedBy = event.signal;
        return;
      case 'run.aborted':
        warnings.push(describeEvent(event));
        return;
      case 'run.paused':
      case 'run.resumed':
        return;
      case 'run.finished':
        finished = event;
        return;
      case 'capacity.waiting':
      case 'batch.finished':
      case 'slot.waiting':
      case 'slot.acquired':
      case 'canary.soaking':
      case 'canary.passed':
        return;
      case 'canary.failed':
      case 'canary.skipped':
        // Why: the figures the gate saw belong in the summary, beside why the other hosts never started.
        warnings.push(describeGuardEvent(event));
        return;
      default:
        break;
    }
    const h = hostOf(event, atMs);
    const step = stepOf[event.event];
    if (step !== undefined && h.outcome === undefined) h.step = step;
    if (event.event === 'host.depooled') h.depooled = true;
    if (event.event === 'host.dispatched') h.inBatch = true;
    if (event.event === 'host.repooled') h.depooled = false;
    if (event.event === 'lb.propagation-assumed') {
      const p = propagation.get(event.dc) ?? { seconds: event.seconds, hosts: 0 };
      const because = event.because ?? p.because;
      propagation.set(event.dc, {
        seconds: Math.max(p.seconds, event.seconds),
        hosts: p.hosts + 1,
        ...(because === undefined ? {} : { because }),
      });
    }
    if (event.event === 'host.repool-skipped')
      repoolSkipped.push({ host: event.host, dc: event.dc, cluster: event.cluster, reason: event.reason });
    if (event.event === 'host.done') {
      h.outcome = 'done';
      h.endMs = h.startMs + event.durationMs;
    }
    if (event.event === 'host.skipped') Object.assign(h, { outcome: 'skipped', reason: event.reason });
    if (event.event === 'host.failed')
      Object.assign(h, {
        outcome: 'failed',
        step: event.step,
        reason: event.reason,
        code: event.code,
        depooled: event.depooled,
      });
  }

  function result(): RunSummary {
    // Why: result() may be asked more than once; the propagation warnings are derived, not kept.
    const said = [...warnings];
    for (const [dc, p] of propagation)
      said.push(`${propagationWarning(dc, p.seconds, p.because)} (${p.hosts} host${p.hosts === 1 ? '' : 's'})`);
    const summaries: HostSummary[] = [...hosts.values()].map((h) => ({
      host: h.host,
      dc: h.dc,
      cluster: h.cluster,
      outcome: h.outcome ?? (h.step === 'pending' && interruptedBy === null ? 'not-started' : 'interrupted'),
      step: h.step,
      reason:
        h.outcome === undefined
          ? interruptedBy
            ? `interrupted by ${interruptedBy}`
            : 'the run ended before this host finished'
          : h.reason,
      code: h.code,
      durationMs: Math.max(0, h.endMs - h.startMs),
      depooled: h.depooled,
    }));
    // Array.prototype.sort is stable: hosts keep run order within an outcome.
    summaries.sort((a, b) => outcomeRank[a.outcome] - outcomeRank[b.outcome]);
    const notStarted = remainders(
      planned,
      [...hosts.values()].filter((h) => h.inBatch),
    );
    const count = (o: HostOutcome) => summaries.filter((h) => h.outcome === o).length;
    const unnamed = notStarted.reduce((n, c) => n + c.notStarted, 0);
    return {
      runId: head?.runId ?? firstRunId,
      command: head?.command ?? '',
      emergency: head?.emergency ?? false,
      release: head?.release ?? null,
      durationMs: finished?.durationMs ?? (firstMs === undefined ? 0 : lastMs - firstMs),
      exitCode: finished?.exitCode ?? null,
      interruptedBy,
      hosts: summaries,
      notStarted,
      totals: {
        hosts: summaries.length + unnamed,
        done: count('done'),
        failed: count('failed'),
        skipped: count('skipped'),
        notStarted: count('not-started') + unnamed,
        interrupted: count('interrupted'),
        leftDepooled: summaries.filter((h) => h.depooled).length,
      },
      warnings: said,
      repoolSkipped: [...repoolSkipped],
    };
  }

  return { apply, result };
}

function remainders(
  planned: Map<string, { dc: string; cluster: string; hosts: number }>,
  hosts: readonly HostState[],
): ClusterRemainder[] {
  const out: ClusterRemainder[] = [];
  for (const [key, p] of planned) {
    const seen = hosts.filter((h) => clusterKey(h.dc, h.cluster) === key).length;
    if (p.hosts > seen) out.push({ dc: p.dc, cluster: p.cluster, notStarted: p.hosts - seen });
  }
  return out;
}
