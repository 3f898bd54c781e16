import { listLiveRuns } from '../coordination/control.js';
import { describeFreeze, listFreezes, type Freeze } from '../coordination/freeze.js';
import { readLiveViews, type LiveState } from '../coordination/live.js';
import type { Kv } from '../kv/kv.js';
import { terminalSafe } from '../report/terminal-safe.js';

/** One live run as `rollout status` shows it (and `status --runs --json` gives it). */
export interface LiveRunStatus {
  readonly runId: string;
  readonly user: string;
  readonly machine: string;
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
  /** `starting`: it holds its locks but has not said more yet. */
  readonly state: LiveState | 'starting';
  readonly detail: string | null;
  readonly clusters: readonly {
    readonly dc: string;
    readonly cluster: string;
    readonly hosts: number | null;
    readonly done: number;
    readonly failed: number;
    readonly skipped: number;
  }[];
  readonly freezeIgnored: readonly string[];
}

export interface RunsStatus {
  readonly runs: readonly LiveRunStatus[];
  readonly freezes: readonly Freeze[];
}

/** The live runs (from their locks, with what their live keys say) and the freezes in force. */
export async function readRunsStatus(kv: Kv, nowMs: number): Promise<RunsStatus> {
  const [live, views, freezes] = await Promise.all([listLiveRuns(kv), readLiveViews(kv), listFreezes(kv, nowMs)]);
  const runs = live.map((run): LiveRunStatus => {
    const view = views.get(run.runId);
    const h = run.holder;
    return {
      runId: run.runId,
      user: h.user,
      machine: h.machine,
      pid: h.pid,
      command: h.command,
      startedAt: h.startedAt,
      state: view?.state ?? 'starting',
      detail: view?.detail ?? null,
      clusters:
        view?.clusters.map(({ dc, cluster, hosts, done, failed, skipped }) => ({
          dc,
          cluster,
          hosts,
          done,
          failed,
          skipped,
        })) ?? run.clusters.map((c) => ({ ...c, hosts: null, done: 0, failed: 0, skipped: 0 })),
      freezeIgnored: view?.freezeIgnored ?? [],
    };
  });
  return { runs, freezes };
}

/** The text of the live runs and freezes, after the pool table. */
export function renderRunsStatus(status: RunsStatus): string {
  const lines: string[] = [];
  for (const f of status.freezes) lines.push(`FREEZE: ${terminalSafe(describeFreeze(f))}`);
  if (status.runs.length === 0) lines.push('live runs: none');
  for (const run of status.runs) {
    const detail = run.detail === null ? '' : ` (${terminalSafe(run.detail)})`;
    lines.push(
      `live run ${run.runId}: ${run.state.toUpperCase()}${detail} — ${run.user}@${run.machine} pid ${run.pid}, ${terminalSafe(run.command)}, since ${run.startedAt}`,
    );
    for (const c of run.clusters) {
      const of = c.hosts === null ? '' : ` of ${c.hosts}`;
      lines.push(`  ${c.cluster}@${c.dc}: ${c.done}${of} done, ${c.failed} failed, ${c.skipped} skipped`);
    }
    for (const ignored of run.freezeIgnored) lines.push(`  ran with --ignore-freeze over: ${terminalSafe(ignored)}`);
    if (run.state === 'paused') lines.push(`  resume: rollout resume ${run.runId}`);
  }
  return `${lines.join('\n')}\n`;
}
