import { describeError, isRolloutError } from '../errors.js';
import { poolKeyId, type PoolValue } from '../pool/types.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';
import type { JournalPhase } from './types.js';

export async function journal(ctx: StepContext, run: HostRun, phase: JournalPhase, note?: string): Promise<void> {
  const entry = run.entry;
  await ctx.journal.record({
    key: run.key,
    prior: entry?.state === 'present' ? entry.value : null,
    priorRevision: entry?.state === 'present' ? entry.modRevision : 0,
    phase,
    wroteRevision: run.wrote?.revision ?? null,
    wroteValue: run.wrote?.value ?? null,
    updatedAt: new Date(ctx.deps.clock.now()).toISOString(),
    ...(note === undefined ? {} : { note }),
  });
}

/** Journal first, then CAS the key to `pooled: no`; a lost race fails the host without touching it. */
export async function depool(ctx: StepContext, run: HostRun): Promise<boolean> {
  const entry = run.entry;
  if (entry?.state !== 'present' || entry.value.pooled !== 'yes') {
    run.fail('depool', `pool state changed before the depool (now ${entry?.state === 'present' ? entry.value.pooled : entry?.state ?? 'unknown'})`, 'E_POOL_CONFLICT');
    return false;
  }
  try {
    await journal(ctx, run, 'depool');
    const value: PoolValue = { ...entry.value, pooled: 'no' };
    const revision = await ctx.deps.pool.write(entry, { pooled: 'no' });
    run.wrote = { value, revision };
    run.depooledByRun = true;
    await journal(ctx, run, 'lb-confirm');
    run.moveTo('depooled', 'lb-confirm');
    ctx.emit({ event: 'host.depooled', dc: run.planned.dc, cluster: run.planned.cluster, host: run.name, modRevision: revision });
    return true;
  } catch (error) {
    // The key may have been written before the journal update failed: still ours to repool.
    run.fail('depool', describeError(error), isRolloutError(error) ? error.code : 'E_INTERNAL');
    return false;
  }
}

/** Puts back the prior value, only if the key still holds what this run wrote. */
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
  try {
    const now = (await ctx.deps.pool.read([run.key])).get(poolKeyId(run.key));
    if (now?.state !== 'present' || now.modRevision !== wrote.revision) {
      const seen = now?.state === 'present' ? `pooled=${now.value.pooled} at revision ${now.modRevision}` : (now?.state ?? 'gone');
      return await leave(`changed by someone else during the run (wrote revision ${wrote.revision}, now ${seen}): left as it is`);
    }
    const prior = run.entry?.state === 'present' ? run.entry.value.pooled : 'yes';
    const revision = await ctx.deps.pool.write(now, { pooled: prior });
    run.depooledByRun = false;
    await journal(ctx, run, 'repooled').catch((error: unknown) => ctx.deps.log.warn({ err: error, host: run.name }, 'journal update after repool failed'));
    ctx.emit({ event: 'host.repooled', ...where, modRevision: revision });
    return 'repooled';
  } catch (error) {
    if (isRolloutError(error, 'E_POOL_CONFLICT')) return leave(`changed by someone else during the run: ${error.message}; left as it is`);
    throw error;
  }
}
