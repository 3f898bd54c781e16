import type { RolloutEvent } from '../report/events.js';

export type RunMode = 'graceful' | 'emergency' | 'dual-master';

/** What one run did to one cluster, for its metrics. */
export interface ClusterFigures {
  readonly dc: string;
  readonly cluster: string;
  readonly mode: RunMode;
  restarted: number;
  failed: number;
  skipped: number;
  /** Seconds each host this run depooled spent out of the pool (depool to repool). */
  readonly depooledSeconds: number[];
  /** 5xx responses the canary gate saw on the canaries, when the cluster had a gate with HAProxy figures. */
  canaryFailedRequests: number | undefined;
}

export interface RunFigures {
  readonly exitCode: number;
  readonly durationSeconds: number;
  /** Seconds since the epoch, when the run finished. */
  readonly finishedAt: number;
  readonly clusters: readonly ClusterFigures[];
}

/** Collects a run's figures from its event stream; `figures()` once run.finished has gone by. */
export class MetricsCollector {
  private readonly clusters = new Map<string, ClusterFigures>();
  private readonly depooledAt = new Map<string, number>();
  private finished: RunFigures | undefined;

  constructor(private readonly modeOf: (dc: string, cluster: string) => RunMode) {}

  private of(dc: string, cluster: string): ClusterFigures {
    const id = `${cluster}@${dc}`;
    let c = this.clusters.get(id);
    if (c === undefined) {
      c = {
        dc,
        cluster,
        mode: this.modeOf(dc, cluster),
        restarted: 0,
        failed: 0,
        skipped: 0,
        depooledSeconds: [],
        canaryFailedRequests: undefined,
      };
      this.clusters.set(id, c);
    }
    return c;
  }

  observe(event: RolloutEvent): void {
    switch (event.event) {
      case 'run.started':
        for (const c of event.clusters) this.of(c.dc, c.cluster);
        return;
      case 'host.depooled':
        this.depooledAt.set(event.host, Date.parse(event.time));
        return;
      case 'host.repooled': {
        const since = this.depooledAt.get(event.host);
        this.depooledAt.delete(event.host);
        if (since !== undefined)
          this.of(event.dc, event.cluster).depooledSeconds.push((Date.parse(event.time) - since) / 1000);
        return;
      }
      case 'host.done':
        this.of(event.dc, event.cluster).restarted += 1;
        return;
      case 'host.failed':
        this.of(event.dc, event.cluster).failed += 1;
        return;
      case 'host.skipped':
        this.of(event.dc, event.cluster).skipped += 1;
        return;
      case 'canary.passed':
      case 'canary.failed': {
        const seen = event.checks.find((c) => c.gate === 'haproxyStats')?.figures['canary5xx'];
        if (seen !== undefined) this.of(event.dc, event.cluster).canaryFailedRequests = seen;
        return;
      }
      case 'run.finished':
        this.finished = {
          exitCode: event.exitCode,
          durationSeconds: event.durationMs / 1000,
          finishedAt: Date.parse(event.time) / 1000,
          clusters: [...this.clusters.values()],
        };
        return;
      default:
        return;
    }
  }

  figures(): RunFigures | undefined {
    return this.finished;
  }
}
