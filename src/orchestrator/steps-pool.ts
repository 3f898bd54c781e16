import { describeError, isRolloutError, RolloutError } from '../errors.js';
import { movedFenceKey } from '../kv/fence.js';
import { isElectionError } from '../kv/kv-errors.js';
import { poolKeyId, type GuardedRead, type PoolEntry, type Pooled } from '../pool/types.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';
import type { JournalHostRecord, JournalPhase } from './types.js';

/** The host's journal record as of now: its prior value, and what this run wrote. */
function journalEntry(ctx: StepContext, run: HostRun, phase: JournalPhase, note?: string): JournalHostRecord {
  const entry = run.entry;
  return {
    key: run.key,
    prior: run.adopted?.prior ?? (entry?.state === 'present' ? entry.value : null),
    priorRevision: run.adopted?.priorRevision ?? (entry?.state === 'present' ? entry.modRevision : 0),
    phase,
    wroteRevision: run.wrote?.revision ?? null,
    wroteValue: run.wrote?.value ?? null,
    updatedAt: new Date(ctx.deps.clock.now()).toISOString(),
    ...(note === undefined ? {} : { note }),
  };
}

export async function journal(ctx: StepContext, run: HostRun, phase: JournalPhase, note?: string): Promise<void> {
  await ctx.journal.record(journalEntry(ctx, run, phase, note));
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

/**
 * Journal first, then one transaction for the whole batch: every host's CAS to `pooled: no`, only if
 * no pool key of the cluster changed since the guard's read, plus a commit marker. Resolves the
 * revision, or 'conflict' (nothing written: re-read and guard again). A lost answer is resolved by
 * reading the marker back, never guessed; if even that fails, the hosts fail as possibly depooled.
 */
export async function depoolBatch(
  ctx: StepContext,
  read: GuardedRead,
  runs: readonly HostRun[],
  marker: string,
): Promise<number | 'conflict' | 'failed'> {
  try {
    await ctx.journal.recordAll(runs.map((run) => journalEntry(ctx, run, 'depool')));
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
  const writes = runs.map((run) => ({ entry: run.entry as PoolEntry, change: { pooled: 'no' } as const }));
  const stamp = JSON.stringify({
    hosts: runs.map((run) => run.name),
    at: new Date(ctx.deps.clock.now()).toISOString(),
  });
  let revision: number | undefined;
  try {
    revision = await ctx.deps.pool.writeAll(read, writes, [{ key: marker, value: stamp }], ctx.options.fence);
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
    const entry = run.entry as PoolEntry & { state: 'present' };
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
  run: HostRun,
  read: PoolEntry & { state: 'present' },
  pooled: Pooled,
  also: readonly JournalPut[],
  error: unknown,
  resend = true,
): Promise<number> {
  const after = (await ctx.deps.pool.read([run.key]).catch(() => undefined))?.get(poolKeyId(run.key));
  const wanted = JSON.stringify({ ...read.value, pooled });
  if (after?.state === 'present' && after.modRevision > read.modRevision && JSON.stringify(after.value) === wanted)
    return after.modRevision;
  if (resend && isElectionError(error) && after?.state === 'present' && after.modRevision === read.modRevision) {
    return ctx.deps.pool
      .write(read, { pooled }, ctx.options.fence, also)
      .catch((again: unknown) => landed(ctx, run, read, pooled, also, again, false));
  }
  throw error;
}

type JournalPut = ReturnType<StepContext['journal']['put']>;

/** What the key holds now, for a message: `pooled=no at revision 12`, or `missing`. */
async function seenNow(ctx: StepContext, run: HostRun): Promise<string> {
  const now = (await ctx.deps.pool.read([run.key]).catch(() => undefined))?.get(poolKeyId(run.key));
  return now === undefined
    ? 'unreadable'
    : now.state === 'present'
      ? `pooled=${now.value.pooled} at revision ${now.modRevision}`
      : now.state;
}

/**
 * Puts back the prior value, only if the key still holds what this run wrote: one CAS on the
 * depool's revision, with the host's journal record in the same transaction. No read first:
 * the CAS is the check, and a refused one is read only to say what changed.
 */
export async function repool(ctx: StepContext, run: HostRun): Promise<'repooled' | 'left'> {
  const wrote = run.wrote;
  const where = { dc: run.planned.dc, cluster: run.planned.cluster, host: run.name };
  if (!wrote || !run.depooledByRun) return 'left';
  // Someone else's change stands: the host is no longer ours to repool.
  const leave = async (reason: string): Promise<'left'> => {
    run.depooledByRun = false;
    await journal(ctx, run, 'left', reason);
    ctx.emit({ event: 'host.repool-skipped', ...where, reason });
    return 'left';
  };
  const ours: PoolEntry & { state: 'present' } = {
    key: run.key,
    state: 'present',
    value: wrote.value,
    modRevision: wrote.revision,
  };
  const prior = run.adopted?.prior.pooled ?? (run.entry?.state === 'present' ? run.entry.value.pooled : 'yes');
  const record = [ctx.journal.put(journalEntry(ctx, run, 'repooled'))];
  try {
    const revision = await ctx.deps.pool
      .write(ours, { pooled: prior }, ctx.options.fence, record)
      .catch((error: unknown) => landed(ctx, run, ours, prior, record, error));
    run.depooledByRun = false;
    run.repoolRevision = revision;
    ctx.emit({ event: 'host.repooled', ...where, modRevision: revision });
    return 'repooled';
  } catch (error) {
    // Why: a fenced write refused because the lock is gone is not someone else's change: the host stays this run's, depooled.
    if (await refusedForLostLock(ctx, error)) throw lockLostError(`${run.name}: repool`);
    if (isRolloutError(error, 'E_POOL_CONFLICT'))
      return leave(
        `changed by someone else during the run (wrote revision ${wrote.revision}, now ${await seenNow(ctx, run)}): left as it is`,
      );
    throw error;
  }
}
