import { describeError, isRolloutError, RolloutError } from '../errors.js';
import { movedFenceKey } from '../kv/fence.js';
import { isElectionError } from '../kv/kv-errors.js';
import { TXN_OPS } from '../kv/kv.js';
import {
  poolKeyId,
  type GuardedRead,
  type PoolEntry,
  type PoolKey,
  type Pooled,
  type PoolValue,
} from '../pool/types.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';
import type { JournalHostRecord, JournalPhase } from './types.js';

type PresentEntry = PoolEntry & { state: 'present' };

/** The keys a depool writes: every key of the host that is `yes` (a host in several pools has several). */
function keysToDepool(run: HostRun): PresentEntry[] {
  return run.entries.filter((e): e is PresentEntry => e.state === 'present' && e.value.pooled === 'yes');
}

/** The host's journal records as of now, one per key this run writes: its prior value, and what this run wrote. */
function journalEntries(ctx: StepContext, run: HostRun, phase: JournalPhase, note?: string): JournalHostRecord[] {
  const updatedAt = new Date(ctx.deps.clock.now()).toISOString();
  const keys: readonly { read: PresentEntry; value: PoolValue | null; revision?: number }[] =
    run.wroteKeys.length > 0 ? run.wroteKeys : keysToDepool(run).map((read) => ({ read, value: null }));
  return keys.map(({ read, value, revision }) => ({
    key: read.key,
    prior: read.value,
    priorRevision: read.modRevision,
    phase,
    wroteRevision: value === null ? null : (revision ?? run.wrote?.revision ?? null),
    wroteValue: value,
    updatedAt,
    ...(note === undefined ? {} : { note }),
  }));
}

export async function journal(ctx: StepContext, run: HostRun, phase: JournalPhase, note?: string): Promise<void> {
  const records = journalEntries(ctx, run, phase, note);
  if (records.length === 1) await ctx.journal.record(records[0] as JournalHostRecord);
  else if (records.length > 1) await ctx.journal.recordAll(records);
}

/**
 * A refused write (E_POOL_CONFLICT) refused because one of the run's lock keys moved: the lock is
 * lost, not someone else's change. Unknown (etcd does not answer) counts as not lost.
 */
async function refusedForLostLock(ctx: StepContext, error: unknown): Promise<boolean> {
  if (!isRolloutError(error, 'E_POOL_CONFLICT')) return false;
  return (await movedFenceKey(ctx.deps.pool.kv, ctx.options.fence ?? []).catch(() => undefined)) !== undefined;
}

export function lockLostError(what: string): RolloutError {
  return new RolloutError(
    'E_LOCK_LOST',
    `${what}: this run no longer holds its cluster lock (its lease expired or was revoked), so it writes nothing more; whatever it depooled is left for \`rollout recover\``,
  );
}

/** The batch's depool commit marker: present exactly when its transaction committed. */
async function committedAt(ctx: StepContext, marker: string): Promise<number | undefined> {
  return (await ctx.deps.pool.kv.get(marker))?.modRevision;
}

/** The batch's journal records on their own, before its depool: where they cannot share its transaction. */
async function journalFirst(
  ctx: StepContext,
  runs: readonly HostRun[],
  records: readonly JournalHostRecord[],
): Promise<'ok' | 'conflict' | 'failed'> {
  try {
    await ctx.journal.recordAll(records);
    return 'ok';
  } catch (error) {
    // Why: a journal record is only overwritten by resending it; during a leader election, guard and send again.
    if (isElectionError(error)) return 'conflict';
    const why = (await refusedForLostLock(ctx, error)) ? lockLostError('journal write before the depool') : error;
    for (const run of runs)
      run.fail(
        'depool',
        `${describeError(why)} (left pooled, not restarted)`,
        isRolloutError(why) ? why.code : 'E_INTERNAL',
      );
    return 'failed';
  }
}

/**
 * One transaction for the whole batch: every host's CAS to `pooled: no`, only if no pool key of the
 * cluster changed since the guard's read, plus a commit marker and every host's journal record. The
 * record is never later than the depool: in the same transaction where the store commits rollout's
 * own keys with the pool's (etcd v3), else journaled first (v2, or a batch too big for one
 * transaction). Resolves the revision, or 'conflict' (nothing written: re-read and guard again). A
 * lost answer is resolved by reading the marker back, never guessed; if even that fails, the hosts
 * fail as possibly depooled.
 */
export async function depoolBatch(
  ctx: StepContext,
  read: GuardedRead,
  runs: readonly HostRun[],
  marker: string,
): Promise<number | 'conflict' | 'failed'> {
  // Why: every key of every host in one transaction: a host is never left pooled in one service and not the other.
  const writes = runs.flatMap((run) =>
    keysToDepool(run).map((entry) => ({ entry, change: { pooled: 'no' } as const })),
  );
  const records = runs.flatMap((run) => journalEntries(ctx, run, 'depool'));
  // Why: one request less per dispatch, and no journal record of a depool that never committed.
  const inline = ctx.deps.pool.atomicAlso && writes.length + 1 + records.length <= TXN_OPS;
  if (!inline) {
    const journaled = await journalFirst(ctx, runs, records);
    if (journaled !== 'ok') return journaled;
  }
  const stamp = JSON.stringify({
    hosts: runs.map((run) => run.name),
    at: new Date(ctx.deps.clock.now()).toISOString(),
  });
  let revision: number | undefined;
  try {
    const also = [{ key: marker, value: stamp }, ...(inline ? records.map((r) => ctx.journal.put(r)) : [])];
    revision = await ctx.deps.pool.writeAll(read, writes, also, ctx.options.fence);
  } catch (error) {
    // Why: etcd may have committed a write whose answer was lost (or retried on another endpoint): ask the marker.
    const found = await committedAt(ctx, marker).catch(() => null);
    if (found === null) {
      // Why: it may be depooled: counted as left depooled, so the journal (and recover's view of it) is kept.
      for (const run of runs) run.depooledByRun = true;
      for (const run of runs)
        run.fail(
          'depool',
          `the depool's outcome is unknown (${describeError(error)}; etcd did not answer the check either): it may be depooled; see \`rollout status\` and run \`rollout recover\``,
          isRolloutError(error) ? error.code : 'E_INTERNAL',
        );
      return 'failed';
    }
    if (found === undefined) {
      if (await refusedForLostLock(ctx, error)) {
        for (const run of runs)
          run.fail('depool', `${describeError(lockLostError('depool'))} (left pooled, not restarted)`, 'E_LOCK_LOST');
        return 'failed';
      }
      // Why: nothing was written (no marker); a conflict or a leader election: read, guard and send it again.
      if (isRolloutError(error, 'E_POOL_CONFLICT') || isElectionError(error)) return 'conflict';
      for (const run of runs)
        run.fail(
          'depool',
          `${describeError(error)} (the batch's depool was not applied: left pooled, not restarted)`,
          isRolloutError(error) ? error.code : 'E_INTERNAL',
        );
      return 'failed';
    }
    revision = found;
  }
  for (const run of runs) {
    const entry = run.entry as PresentEntry;
    run.wroteKeys = keysToDepool(run).map((read) => ({ read, value: { ...read.value, pooled: 'no' as const } }));
    run.wrote = { value: { ...entry.value, pooled: 'no' }, revision };
    run.depooledByRun = true;
    run.moveTo('depooled', 'lb-confirm');
    ctx.emit({
      event: 'host.depooled',
      dc: run.planned.dc,
      cluster: run.planned.cluster,
      host: run.name,
      modRevision: revision,
    });
  }
  // Why: no journal update here: the commit marker already says at which revision every host of the batch was depooled.
  return revision;
}

/**
 * A repool whose answer was lost (a deadline, or a retry on another endpoint that then saw its own
 * committed write as a conflict) is resolved by reading the key back: if it now holds exactly the
 * value this repool wrote, at a later revision, it landed. If etcd was electing a leader and the
 * key is provably untouched (same revision as read), the repool is sent once more: resolved
 * first, then resent, never resent blind. Otherwise the error stands.
 */
async function landed(
  ctx: StepContext,
  read: PresentEntry,
  pooled: Pooled,
  also: readonly JournalPut[],
  error: unknown,
  resend = true,
): Promise<number> {
  const after = (await ctx.deps.pool.read([read.key]).catch(() => undefined))?.get(poolKeyId(read.key));
  const wanted = JSON.stringify({ ...read.value, pooled });
  if (after?.state === 'present' && after.modRevision > read.modRevision && JSON.stringify(after.value) === wanted)
    return after.modRevision;
  if (resend && isElectionError(error) && after?.state === 'present' && after.modRevision === read.modRevision) {
    return ctx.deps.pool
      .write(read, { pooled }, ctx.options.fence, also)
      .catch((again: unknown) => landed(ctx, read, pooled, also, again, false));
  }
  throw error;
}

type JournalPut = ReturnType<StepContext['journal']['put']>;

/** What the key holds now, for a message: `pooled=no at revision 12`, or `missing`. */
async function seenNow(ctx: StepContext, key: PoolKey): Promise<string> {
  const now = (await ctx.deps.pool.read([key]).catch(() => undefined))?.get(poolKeyId(key));
  return now === undefined
    ? 'unreadable'
    : now.state === 'present'
      ? `pooled=${now.value.pooled} at revision ${now.modRevision}`
      : now.state;
}

/** One key's repool: a CAS on the depool's revision, with its journal record in the same transaction. */
async function repoolKey(
  ctx: StepContext,
  run: HostRun,
  wrote: { readonly read: PresentEntry; readonly value: PoolValue },
  revision: number,
): Promise<{ readonly revision: number } | { readonly left: string }> {
  const ours: PresentEntry = { key: wrote.read.key, state: 'present', value: wrote.value, modRevision: revision };
  const prior = wrote.read.value.pooled;
  const record = journalEntries(ctx, run, 'repooled').filter((r) => poolKeyId(r.key) === poolKeyId(ours.key));
  const also = record.map((r) => ctx.journal.put(r));
  try {
    const done = await ctx.deps.pool
      .write(ours, { pooled: prior }, ctx.options.fence, also)
      .catch((error: unknown) => landed(ctx, ours, prior, also, error));
    return { revision: done };
  } catch (error) {
    // Why: a fenced write refused because the lock is gone is not someone else's change: the host stays this run's, depooled.
    if (await refusedForLostLock(ctx, error)) throw lockLostError(`${run.name}: repool`);
    if (isRolloutError(error, 'E_POOL_CONFLICT'))
      return {
        left: `changed by someone else during the run (wrote revision ${revision}, now ${await seenNow(ctx, ours.key)}): left as it is`,
      };
    throw error;
  }
}

/**
 * Puts back the prior value of every key this run depooled, each only if it still holds what this
 * run wrote: one CAS per key on the depool's revision, with its journal record in the same
 * transaction. No read first: the CAS is the check. A key someone else changed stays as it is and
 * is reported (its service named); the host's other keys are still repooled.
 */
export async function repool(ctx: StepContext, run: HostRun): Promise<'repooled' | 'left'> {
  const wrote = run.wrote;
  const where = { dc: run.planned.dc, cluster: run.planned.cluster, host: run.name };
  if (!wrote || !run.depooledByRun) return 'left';
  const several = run.wroteKeys.length > 1;
  const repooled: { key: PoolKey; revision: number }[] = [];
  const left: string[] = [];
  const leftKeys: (typeof run.wroteKeys)[number][] = [];
  for (const [i, key] of run.wroteKeys.entries()) {
    let outcome: Awaited<ReturnType<typeof repoolKey>>;
    try {
      outcome = await repoolKey(ctx, run, key, key.revision ?? wrote.revision);
    } catch (error) {
      // Why: keys already put back are no longer this run's; a later repool (or recover) acts on the rest only.
      run.wroteKeys = [...leftKeys, ...run.wroteKeys.slice(i)];
      throw error;
    }
    if ('revision' in outcome) repooled.push({ key: key.read.key, revision: outcome.revision });
    else {
      leftKeys.push(key);
      left.push(several ? `${key.read.key.service}: ${outcome.left}` : outcome.left);
    }
  }
  run.depooledByRun = false;
  run.repooledKeys = repooled;
  run.wroteKeys = leftKeys;
  for (const reason of left) ctx.emit({ event: 'host.repool-skipped', ...where, reason });
  // Why: only the keys left as they are get a `left` record; the others got `repooled` in their own transaction.
  if (left.length > 0) await journal(ctx, run, 'left', left.join('; '));
  if (repooled.length === 0) return 'left';
  run.repoolRevision = Math.max(...repooled.map((r) => r.revision));
  ctx.emit({ event: 'host.repooled', ...where, modRevision: run.repoolRevision });
  return 'repooled';
}
