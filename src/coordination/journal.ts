import { fencedPut, type Fence } from '../kv/fence.js';
import { TXN_OPS } from '../kv/kv.js';
import type { Kv } from '../kv/kv.js';
import { listLocks } from './lock.js';
import type { LockHolder } from './lock.js';
import { RUNS_PREFIX, runBatchPrefix, runHostKey, runMetaKey, runPrefix } from './keys.js';
import type { HostStep } from '../steps.js';
import type { PoolKey, PoolValue } from '../pool/types.js';

/** `/rollout/v1/runs/<runId>/meta`: who ran what; finishedAt/outcome once it ended. Not lease-bound. */
export interface RunMeta {
  readonly runId: string;
  readonly holder: LockHolder;
  readonly command: string;
  readonly emergency: boolean;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly outcome?: string;
  /** Id of the lease its locks are bound to. */
  readonly lease: string;
}

export type JournalPhase = HostStep | 'failed' | 'repooled' | 'left';

/** `/rollout/v1/runs/<runId>/hosts/<dc>/<cluster>/<service>/<host>`: written before each pool change. */
export interface JournalHost {
  readonly key: PoolKey;
  /** The pool value before this run touched the host; null if it was missing. */
  readonly prior: PoolValue | null;
  readonly priorRevision: number;
  readonly phase: JournalPhase;
  /** modRevision of this run's last write to the pool key (repool only if it is still this). */
  readonly wroteRevision: number | null;
  readonly wroteValue: PoolValue | null;
  readonly updatedAt: string;
  readonly note?: string;
  /** Set when `rollout recover` wrote the record (user@machine), not the run itself. */
  readonly recoveredBy?: string;
}

/** The journal of the running run. */
export interface Journal {
  readonly runId: string;
  /** Overwrites the host's record. Call it before the pool write it describes. */
  record(host: JournalHost): Promise<void>;
  /** record() for many hosts (a batch before its depool), in as few requests as etcd's transaction limit allows. */
  recordAll(hosts: readonly JournalHost[]): Promise<void>;
  /** The host's record as a put, to go in the same transaction as the pool write it describes. */
  put(host: JournalHost): { readonly key: string; readonly value: string };
  /** Marks the run finished; `rollout recover` then leaves it alone. */
  finish(outcome: string): Promise<void>;
  /** Deletes the whole journal: for a run that ended with every host resolved, so journals stay bounded. */
  discard(): Promise<number>;
}

/** A journaled run as read back for `rollout recover` and `rollout status`. */
export interface RunRecord {
  readonly runId: string;
  /** null when the meta key is missing or unreadable. */
  readonly meta: RunMeta | null;
  readonly hosts: readonly JournalHost[];
  /** Some lock key still names this run: its process (or at least its lease) is alive. */
  readonly locked: boolean;
  /** Not finished and holds no lock: the process died; recover may act on its hosts. */
  readonly dead: boolean;
  /** Keys under the run that could not be read. */
  readonly unreadable: readonly string[];
  /** The commit markers of its batch depools: each host listed was depooled at `revision`. */
  readonly batches: readonly BatchMarker[];
}

/** `/rollout/v1/runs/<runId>/batches/<dc>/<cluster>/<n>`, written in the transaction of a batch's depool. */
export interface BatchMarker {
  readonly dc: string;
  readonly cluster: string;
  readonly hosts: readonly string[];
  /** The transaction's revision: every host listed had its pool key written at exactly this revision. */
  readonly revision: number;
}

function parseMarker(rest: string, raw: string, revision: number): BatchMarker | null {
  const [dc, cluster] = rest.split('/');
  const value = parseJson(raw);
  if (
    !dc ||
    !cluster ||
    value === null ||
    !Array.isArray(value.hosts) ||
    !value.hosts.every((h) => typeof h === 'string')
  )
    return null;
  return { dc, cluster, hosts: value.hosts as string[], revision };
}

export interface JournalOptions {
  /** Milliseconds since the epoch; Date.now unless told. */
  readonly now?: () => number;
  /** The run's lock keys: each journal write applies only while the run still holds them. */
  readonly fence?: Fence;
}

/** `20261124T195500Z-ab12cd`: sortable by start time, unique enough with 24 random bits. */
export function newRunId(now: number, random: () => number): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  const suffix = Math.floor(random() * 0x1000000)
    .toString(16)
    .padStart(6, '0');
  return `${stamp}-${suffix}`;
}

/** Creates the run's meta key (create-only: a run id is never reused) and returns its journal. */
export async function createJournal(kv: Kv, meta: RunMeta, options: JournalOptions = {}): Promise<Journal> {
  const now = options.now ?? Date.now;
  const metaKey = runMetaKey(meta.runId);
  let revision = await kv.put(metaKey, JSON.stringify(meta), { expectModRevision: 0 });
  return {
    runId: meta.runId,
    record: (host) => recordJournalHost(kv, meta.runId, host, options.fence),
    async recordAll(hosts) {
      const fence = options.fence ?? [];
      // Why: etcd refuses a transaction of more than 128 operations (--max-txn-ops); the fence's compares count too.
      const chunk = Math.max(1, TXN_OPS - fence.length);
      for (let i = 0; i < hosts.length; i += chunk) {
        await kv.txn(
          { keys: fence },
          hosts.slice(i, i + chunk).map((host) => journalPut(meta.runId, host)),
        );
      }
    },
    put: (host) => journalPut(meta.runId, host),
    async finish(outcome) {
      const finished: RunMeta = { ...meta, finishedAt: new Date(now()).toISOString(), outcome };
      revision = await fencedPut(kv, metaKey, JSON.stringify(finished), {
        expectModRevision: revision,
        ...(options.fence ? { fence: options.fence } : {}),
      });
    },
    discard: () => discardRun(kv, meta.runId),
  };
}

function journalPut(runId: string, host: JournalHost): { readonly key: string; readonly value: string } {
  return { key: runHostKey(runId, host.key), value: JSON.stringify(host) };
}

/** Overwrites one host's record in a run's journal: the running run's, or a dead one's (recover). */
export async function recordJournalHost(kv: Kv, runId: string, host: JournalHost, fence: Fence = []): Promise<void> {
  await fencedPut(kv, runHostKey(runId, host.key), JSON.stringify(host), { fence });
}

/** Marks someone else's run finished (recover), keeping its meta; a CAS, so two finishers never both write. */
export async function finishRun(kv: Kv, runId: string, outcome: string, now: () => number = Date.now): Promise<void> {
  const entry = await kv.get(runMetaKey(runId));
  const meta = (entry ? parseMeta(entry.value) : null) ?? { runId };
  const finished = { ...meta, finishedAt: new Date(now()).toISOString(), outcome };
  await kv.put(runMetaKey(runId), JSON.stringify(finished), { expectModRevision: entry?.modRevision ?? 0 });
}

function parseJson(raw: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function parseMeta(raw: string): RunMeta | null {
  const value = parseJson(raw);
  if (value === null || typeof value.runId !== 'string' || typeof value.startedAt !== 'string') return null;
  if (typeof value.holder !== 'object' || value.holder === null || typeof value.command !== 'string') return null;
  return value as unknown as RunMeta;
}

function parseHost(raw: string): JournalHost | null {
  const value = parseJson(raw);
  if (value === null || typeof value.phase !== 'string' || typeof value.priorRevision !== 'number') return null;
  const key = value.key as Record<string, unknown> | null | undefined;
  if (
    typeof key !== 'object' ||
    key === null ||
    ['dc', 'cluster', 'service', 'host'].some((f) => typeof key[f] !== 'string')
  )
    return null;
  return value as unknown as JournalHost;
}

/** Every journaled run, oldest first (run ids sort by start time), with whether it is dead. */
export async function listRuns(kv: Kv): Promise<RunRecord[]> {
  // Why: locks before and after the journal read, so a run that starts or finishes meanwhile is never taken for dead.
  const before = await listLocks(kv);
  const entries = await kv.list(RUNS_PREFIX);
  const after = await listLocks(kv);
  const lockedRuns = new Set(
    [...before, ...after].flatMap((lock) => (lock.holder === null ? [] : [lock.holder.runId])),
  );
  const byRun = new Map<
    string,
    { meta: RunMeta | null; hosts: JournalHost[]; unreadable: string[]; batches: BatchMarker[] }
  >();
  for (const entry of entries) {
    const rest = entry.key.slice(RUNS_PREFIX.length);
    const runId = rest.split('/')[0] ?? '';
    const run = byRun.get(runId) ?? { meta: null, hosts: [], unreadable: [], batches: [] };
    byRun.set(runId, run);
    const batchPrefix = runBatchPrefix(runId);
    if (entry.key.startsWith(batchPrefix)) {
      const marker = parseMarker(entry.key.slice(batchPrefix.length), entry.value, entry.modRevision);
      if (marker === null) run.unreadable.push(entry.key);
      else run.batches.push(marker);
    } else if (entry.key === runMetaKey(runId)) {
      run.meta = parseMeta(entry.value);
      if (run.meta === null) run.unreadable.push(entry.key);
    } else {
      const host = parseHost(entry.value);
      if (host === null) run.unreadable.push(entry.key);
      else run.hosts.push(host);
    }
  }
  return [...byRun.entries()].map(([runId, run]) => {
    const locked = lockedRuns.has(runId);
    return { runId, ...run, locked, dead: run.meta?.finishedAt === undefined && !locked };
  });
}

/** Deletes a whole journal (meta, hosts, batch markers) in one request: for a run with every host resolved. */
export function discardRun(kv: Kv, runId: string): Promise<number> {
  return kv.deletePrefix(runPrefix(runId));
}

/** Deletes a run's journal (meta and hosts); returns how many keys went. */
export async function deleteRun(kv: Kv, runId: string): Promise<number> {
  const entries = await kv.list(runPrefix(runId));
  let deleted = 0;
  for (const entry of entries) if (await kv.delete(entry.key, { expectModRevision: entry.modRevision })) deleted += 1;
  return deleted;
}
