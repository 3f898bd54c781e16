import { ROLLOUT_PREFIX } from '../keyspace.js';
import type { Kv } from '../kv/kv.js';

/** `/rollout/v1/resume/<runId>`: what a run that did not finish cleanly did finish, for `--resume`. */
export const RESUME_PREFIX = `${ROLLOUT_PREFIX}resume/`;
/** How long a resume record is kept: past it, `--resume` refuses and the next run deletes it. */
export const RESUME_KEEP_DAYS = 7;
const DAY_MS = 86_400_000;

export interface ResumeRecord {
  readonly runId: string;
  readonly kind: 'sync' | 'restart';
  /** The selection the run was given (empty: every one). */
  readonly dcs: readonly string[];
  readonly clusters: readonly string[];
  readonly command: string;
  readonly user: string;
  readonly machine: string;
  readonly finishedAt: string;
  readonly exitCode: number;
  /** Hosts restarted, checked and back in their pool state: a resume leaves them alone. */
  readonly done: readonly string[];
  /** ISO 8601: deleted after this (RESUME_KEEP_DAYS after the run ended). */
  readonly keepUntil: string;
  /** Earlier runs this one resumed, oldest first. */
  readonly resumed: readonly string[];
}

export function resumeKey(runId: string): string {
  return `${RESUME_PREFIX}${runId}`;
}

export function keepUntil(finishedMs: number): string {
  return new Date(finishedMs + RESUME_KEEP_DAYS * DAY_MS).toISOString();
}

function parseRecord(raw: string): ResumeRecord | null {
  try {
    const value = JSON.parse(raw) as Partial<ResumeRecord> | null;
    if (typeof value?.runId !== 'string' || !Array.isArray(value.done) || typeof value.keepUntil !== 'string')
      return null;
    if (value.kind !== 'sync' && value.kind !== 'restart') return null;
    return value as ResumeRecord;
  } catch {
    return null;
  }
}

export async function writeResumeRecord(kv: Kv, record: ResumeRecord): Promise<void> {
  await kv.put(resumeKey(record.runId), JSON.stringify(record));
}

/** The run's record, or null when there is none, it is unreadable or past its keepUntil. */
export async function readResumeRecord(kv: Kv, runId: string, nowMs: number): Promise<ResumeRecord | null> {
  const entry = await kv.get(resumeKey(runId));
  const record = entry === null ? null : parseRecord(entry.value);
  return record === null || Date.parse(record.keepUntil) <= nowMs ? null : record;
}

export function forgetResumeRecord(kv: Kv, runId: string): Promise<boolean> {
  return kv.delete(resumeKey(runId));
}

/** Deletes the records past their keepUntil (and unreadable ones); every run start calls it, so they stay bounded. */
export async function pruneResumeRecords(kv: Kv, nowMs: number): Promise<string[]> {
  const pruned: string[] = [];
  for (const entry of await kv.list(RESUME_PREFIX)) {
    const record = parseRecord(entry.value);
    if (record !== null && Date.parse(record.keepUntil) > nowMs) continue;
    if (await kv.delete(entry.key, { expectModRevision: entry.modRevision }).catch(() => false))
      pruned.push(entry.key.slice(RESUME_PREFIX.length));
  }
  return pruned;
}
