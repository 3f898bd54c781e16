import { discardRun, listRuns } from '../coordination/journal.js';
import {
  forgetResumeRecord,
  keepUntil,
  readResumeRecord,
  RESUME_KEEP_DAYS,
  writeResumeRecord,
  type ResumeRecord,
} from '../coordination/resume.js';
import type { Kv } from '../kv/kv.js';
import type { HostOutcome } from '../orchestrator/host-run.js';
import { RolloutError } from '../errors.js';
import { stillOurs, unresolved } from '../orchestrator/recover.js';
import type { AdoptedHost } from '../orchestrator/types.js';
import type { Selection } from '../planner/types.js';
import { poolKeyId } from '../pool/types.js';
import type { PoolConnection } from './context.js';

/** What `--resume RUN` starts from: the stopped run's record and the hosts it left depooled that are still its. */
export interface ResumeFrom {
  readonly record: ResumeRecord;
  readonly selection: Selection;
  readonly done: ReadonlySet<string>;
  readonly adopted: ReadonlyMap<string, AdoptedHost>;
  /** Pool keys the stopped run's journal still lists as depooled by it (adopted or not). */
  readonly leftInJournal: number;
}

/**
 * Reads the stopped run's resume record (exit 2 when there is none) and, from its journal, the
 * hosts it left depooled whose pool key still holds its write (the same proof `recover` asks for).
 */
export async function resumeFrom(connection: PoolConnection, runId: string, nowMs: number): Promise<ResumeFrom> {
  const record = await readResumeRecord(connection.kv, runId, nowMs);
  const runs = await listRuns(connection.kv);
  const journal = runs.find((r) => r.runId === runId);
  if (journal?.locked)
    throw new RolloutError(
      'E_USAGE',
      `--resume ${runId}: that run is still live (it holds its locks); see \`rollout status\``,
      {
        where: '--resume',
      },
    );
  if (record === null)
    throw new RolloutError(
      'E_USAGE',
      `--resume ${runId}: nothing to resume: that run finished cleanly, was resumed already, was forgotten (\`rollout recover --forget\`), or ended more than ${RESUME_KEEP_DAYS} days ago`,
      { where: '--resume' },
    );
  const adopted = new Map<string, AdoptedHost>();
  const left = (journal?.hosts ?? []).filter((h) => unresolved(h) && h.prior !== null);
  const now = await connection.pool.read(left.map((h) => h.key));
  for (const h of left) {
    const entry = now.get(poolKeyId(h.key));
    if (h.prior === null || entry?.state !== 'present' || !stillOurs(h, entry, journal?.batches ?? [])) continue;
    // Why: a host in several pools has one record per key; each key still holding the stopped run's write is taken over.
    const keys = adopted.get(h.key.host)?.keys ?? [];
    adopted.set(h.key.host, {
      keys: [
        ...keys,
        {
          key: h.key,
          prior: h.prior,
          priorRevision: h.priorRevision,
          wrote: { value: entry.value, revision: entry.modRevision },
        },
      ],
    });
  }
  const selection: Selection =
    record.kind === 'restart'
      ? { kind: 'restart', dc: record.dcs[0] ?? '', cluster: record.clusters[0] ?? '' }
      : { kind: 'sync', dcs: record.dcs, clusters: record.clusters };
  return { record, selection, done: new Set(record.done), adopted, leftInJournal: left.length };
}

/**
 * `--resume RUN` before anything else: the selection comes from the stopped run, so etcd is read
 * first. Returns undefined without --resume. Refuses --dc/--cluster (the stopped run's selection
 * stands) and a `restart` naming another cluster.
 */
export async function openResume(
  args: {
    readonly kind: 'sync' | 'restart';
    readonly resume?: string | undefined;
    readonly dcs: readonly string[];
    readonly clusters: readonly string[];
  },
  connect: () => Promise<PoolConnection>,
): Promise<{ readonly connection: PoolConnection; readonly from: ResumeFrom } | undefined> {
  if (args.resume === undefined) return undefined;
  if (args.kind === 'sync' && (args.dcs.length > 0 || args.clusters.length > 0))
    throw new RolloutError(
      'E_USAGE',
      '--resume: the resumed run keeps the selection of the run it resumes; drop --dc/--cluster',
      {
        where: '--resume',
      },
    );
  const connection = await connect();
  try {
    const from = await resumeFrom(connection, args.resume, Date.now());
    const s = from.selection;
    if (args.kind === 'restart' && (s.kind !== 'restart' || s.cluster !== args.clusters[0] || s.dc !== args.dcs[0]))
      throw new RolloutError(
        'E_USAGE',
        `--resume ${args.resume}: that run was \`${from.record.command}\`, not a restart of ${args.clusters[0] ?? ''} ${args.dcs[0] ?? ''}`,
        { where: '--resume' },
      );
    return { connection, from };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

/**
 * At a run's end: a run that did not finish cleanly keeps what it finished (with what the run it
 * resumed had finished) for a later `--resume`, bounded in time; a resumed run's old record goes,
 * and the old journal too once every host this run took over from it is resolved in its own.
 */
export async function settleResume(
  kv: Kv,
  input: {
    readonly run: Omit<ResumeRecord, 'done' | 'keepUntil' | 'resumed' | 'finishedAt'>;
    readonly hosts: readonly HostOutcome[];
    readonly from: ResumeFrom | undefined;
    readonly nowMs: number;
  },
): Promise<void> {
  const { from, run } = input;
  if (run.exitCode !== 0) {
    const done = new Set([
      ...(from?.done ?? []),
      ...input.hosts.filter((h) => h.outcome === 'done').map((h) => h.host),
    ]);
    await writeResumeRecord(kv, {
      ...run,
      done: [...done].sort(),
      finishedAt: new Date(input.nowMs).toISOString(),
      keepUntil: keepUntil(input.nowMs),
      resumed: from === undefined ? [] : [...from.record.resumed, from.record.runId],
    });
  }
  if (from === undefined) return;
  await forgetResumeRecord(kv, from.record.runId);
  const adoptedOutcomes = input.hosts.filter((h) => from.adopted.has(h.host));
  // Why: a taken-over host that ended done or failed is in this run's journal now; one not reached is still only in the old one.
  if (
    [...from.adopted.values()].reduce((n, h) => n + h.keys.length, 0) === from.leftInJournal &&
    adoptedOutcomes.every((h) => h.outcome === 'done' || h.outcome === 'failed')
  )
    await discardRun(kv, from.record.runId);
}
