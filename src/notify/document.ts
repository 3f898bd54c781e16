import type { NotifyEventName } from '../inventory/types.js';
import type { RolloutEvent } from '../report/events.js';

/** Who ran what, for every hook document (docs/events.md, "Hook documents"). */
export interface RunContext {
  readonly runId: string;
  readonly user: string;
  readonly machine: string;
  readonly command: string;
  readonly reason: string;
  readonly release: string | undefined;
  readonly emergency: boolean;
}

export interface Counts {
  ok: number;
  failed: number;
  skipped: number;
}

/** What a sink receives: the same shape for every event, the details of the event under `detail`. */
export interface HookDocument {
  readonly event: NotifyEventName;
  readonly time: string;
  readonly runId: string;
  readonly who: string;
  readonly command: string;
  readonly reason: string;
  readonly release: string | null;
  readonly emergency: boolean;
  /** Hosts so far (the whole run, or the cluster for cluster.finished). */
  readonly counts: Counts;
  readonly dc?: string;
  readonly cluster?: string;
  readonly exitCode?: number;
  readonly durationMs?: number;
  readonly summary: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

const BUDGET = 'failure budget exceeded (';

/**
 * Turns the run's event stream into hook documents: one pass, in order. cluster.finished comes
 * after a cluster's last batch, or at the end of the run for a cluster stopped before it.
 */
export class DocumentBuilder {
  private readonly total: Counts = { ok: 0, failed: 0, skipped: 0 };
  private readonly perCluster = new Map<string, Counts>();
  private readonly batches = new Map<string, number>();
  private readonly finished = new Set<string>();
  /** Window clusters: hosts planned, hosts started (canary batch or dispatch), and how many of those ended. */
  private readonly windows = new Map<string, { planned: number; started: Set<string>; ended: number }>();

  constructor(private readonly run: RunContext) {}

  /** The documents an event gives (none for most). */
  documents(event: RolloutEvent): HookDocument[] {
    const name = event.event as string;
    switch (event.event) {
      case 'run.started':
        for (const c of event.clusters) {
          this.batches.set(`${c.cluster}@${c.dc}`, c.batches);
          if (c.mode === 'window')
            this.windows.set(`${c.cluster}@${c.dc}`, { planned: c.hosts, started: new Set(), ended: 0 });
          this.perCluster.set(`${c.cluster}@${c.dc}`, { ok: 0, failed: 0, skipped: 0 });
        }
        return [
          this.doc('run.started', event, {
            summary: `${this.who()} started ${this.run.command} (${event.clusters.map((c) => `${c.cluster}@${c.dc}`).join(', ')}): ${this.run.reason}`,
            detail: { clusters: event.clusters },
          }),
        ];
      case 'host.done':
      case 'host.failed':
      case 'host.skipped': {
        const key = event.event === 'host.done' ? 'ok' : event.event === 'host.failed' ? 'failed' : 'skipped';
        this.total[key] += 1;
        const c = this.perCluster.get(`${event.cluster}@${event.dc}`);
        if (c) c[key] += 1;
        // Why: a window run has no last batch: its cluster is finished when every planned host has ended.
        const w = this.windows.get(`${event.cluster}@${event.dc}`);
        if (w === undefined || !w.started.has(event.host) || ++w.ended < w.planned) return [];
        return this.clusterDone(event, event.dc, event.cluster);
      }
      case 'host.dispatched':
        this.windows.get(`${event.cluster}@${event.dc}`)?.started.add(event.host);
        return [];
      case 'batch.started':
        for (const host of event.hosts) this.windows.get(`${event.cluster}@${event.dc}`)?.started.add(host);
        return [];
      case 'batch.finished': {
        const id = `${event.cluster}@${event.dc}`;
        return event.batch === this.batches.get(id) && !this.windows.has(id)
          ? this.clusterDone(event, event.dc, event.cluster)
          : [];
      }
      case 'canary.passed':
      case 'canary.failed':
      case 'canary.skipped': {
        const verdict = event.event.slice('canary.'.length);
        return [
          this.doc('canary.verdict', event, {
            dc: event.dc,
            cluster: event.cluster,
            summary: `canary of ${event.cluster}@${event.dc} (${event.hosts.join(', ')}): ${verdict}`,
            detail: {
              verdict,
              hosts: event.hosts,
              ...('checks' in event ? { checks: event.checks } : { reason: event.reason }),
            },
          }),
        ];
      }
      case 'run.warning':
        return event.message.startsWith(BUDGET)
          ? [this.doc('budget.tripped', event, { summary: event.message, detail: { message: event.message } })]
          : [];
      case 'run.finished': {
        const open = [...this.batches.keys()].filter((id) => !this.finished.has(id));
        const clusters = open.flatMap((id) => {
          const [cluster = '', dc = ''] = id.split('@');
          return this.clusterDone(event, dc, cluster);
        });
        const counts = { ok: event.ok, failed: event.failed, skipped: event.skipped };
        const verdict = event.exitCode === 0 ? 'finished' : `FAILED (exit ${event.exitCode})`;
        const base = {
          counts,
          exitCode: event.exitCode,
          durationMs: event.durationMs,
          summary: `${this.run.command} by ${this.who()} ${verdict}: ${event.ok} done, ${event.failed} failed, ${event.skipped} skipped, ${event.notStarted} not started in ${Math.round(event.durationMs / 1000)}s`,
          detail: { notStarted: event.notStarted },
        };
        return [
          ...clusters,
          this.doc('run.finished', event, base),
          ...(event.exitCode === 0 ? [] : [this.doc('run.failed', event, base)]),
        ];
      }
      default:
        // Why: steering events (run.paused/resumed/aborted) come from another part of rollout; passed on as they are.
        if (name === 'run.paused' || name === 'run.resumed' || name === 'run.aborted') {
          const { time: _t, runId: _r, event: _e, ...detail } = event as unknown as Record<string, unknown>;
          return [this.doc(name, event, { summary: `${this.run.command}: ${name.slice(4)}`, detail })];
        }
        return [];
    }
  }

  private clusterDone(event: RolloutEvent, dc: string, cluster: string): HookDocument[] {
    const id = `${cluster}@${dc}`;
    if (this.finished.has(id)) return [];
    this.finished.add(id);
    const counts = { ...(this.perCluster.get(id) ?? { ok: 0, failed: 0, skipped: 0 }) };
    return [
      this.doc('cluster.finished', event, {
        dc,
        cluster,
        counts,
        summary: `${id}: ${counts.ok} done, ${counts.failed} failed, ${counts.skipped} skipped`,
        detail: {},
      }),
    ];
  }

  private who(): string {
    return `${this.run.user}@${this.run.machine}`;
  }

  private doc(
    name: NotifyEventName,
    event: RolloutEvent,
    rest: Partial<HookDocument> & Pick<HookDocument, 'summary' | 'detail'>,
  ): HookDocument {
    return {
      event: name,
      time: event.time,
      runId: this.run.runId,
      who: this.who(),
      command: this.run.command,
      reason: this.run.reason,
      release: this.run.release ?? null,
      emergency: this.run.emergency,
      counts: { ...this.total },
      ...rest,
    };
  }
}
