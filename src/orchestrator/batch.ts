import { describeError, isRolloutError, RolloutError } from '../errors.js';
import type { InventoryCluster } from '../inventory/types.js';
import { poolKeyId } from '../pool/types.js';
import { poolKeysFor } from '../planner/plan.js';
import { checkCapacity } from './capacity.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';
import { confirmLb } from './steps-lb.js';
import { checkHealth, drain, preflight, restart } from './steps-host.js';
import { depool, journal, repool } from './steps-pool.js';

const CAPACITY_POLL_MS = 2000;

/** Fresh pool read, then the capacity guard; waits up to capacityWait for others' depools to clear. */
async function guardBatch(ctx: StepContext, cluster: InventoryCluster, runs: readonly HostRun[], leftByRun: readonly string[]): Promise<void> {
  const deadline = ctx.deps.clock.now() + ctx.options.capacityWaitSeconds * 1000;
  let announced = false;
  for (;;) {
    const snapshot = await ctx.deps.pool.read(poolKeysFor([cluster]));
    for (const run of runs) run.entry = snapshot.get(poolKeyId(run.key));
    const live = runs.filter((run) => run.state === 'pending');
    for (const run of live) {
      const entry = run.entry;
      if (entry?.state !== 'present') run.skip(entry?.state === 'malformed' ? `malformed pool value: ${entry.reason}` : 'missing: no pool key in etcd');
      else if (entry.value.pooled === 'inactive') run.skip('inactive (set since the plan)');
    }
    if (ctx.options.emergency) return;
    const wanted = runs.filter((run) => run.state === 'pending' && run.entry?.state === 'present' && run.entry.value.pooled === 'yes').length;
    const check = checkCapacity(cluster, snapshot, wanted);
    if (check.ok) return;
    // Why: hosts this run failed stay depooled until someone fixes them; waiting for them is pointless.
    if (leftByRun.length > 0) {
      throw new RolloutError('E_CAPACITY', `capacity guard: ${check.text}: ${leftByRun.join(', ')} failed earlier in this run and stay depooled, so no more hosts of ${cluster.name}@${cluster.dc} can be depooled. Fix and repool them, then run again`, { where: `${cluster.name}@${cluster.dc}` });
    }
    if (ctx.deps.clock.now() >= deadline) {
      throw new RolloutError('E_CAPACITY', `capacity guard: ${check.text}; waited ${ctx.options.capacityWaitSeconds}s for hosts others depooled to come back. Repool them, or lower minPooled/--batch-size`, { where: `${cluster.name}@${cluster.dc}` });
    }
    if (!announced) {
      announced = true;
      ctx.emit({ event: 'capacity.waiting', dc: cluster.dc, cluster: cluster.name, pooled: check.pooled, required: check.required, wanted });
    }
    await ctx.deps.sleep(CAPACITY_POLL_MS, ctx.options.stop);
  }
}

/** One host through its steps; every failure leaves it as the rules say (failed hosts stay depooled). */
async function runHost(ctx: StepContext, run: HostRun): Promise<void> {
  const { stop, emergency } = ctx.options;
  const where = { dc: run.planned.dc, cluster: run.planned.cluster, host: run.name };
  run.startedAt = ctx.deps.clock.now();
  try {
    if (run.state !== 'pending') return;
    if (stop.aborted) return run.moveTo('interrupted');
    const entry = run.entry;
    const depoolIt = !emergency && entry?.state === 'present' && entry.value.pooled === 'yes';
    if (depoolIt) {
      run.step = 'depool';
      if (!(await preflight(ctx, run))) return;
      if (!(await depool(ctx, run))) return;
      if (!(await confirmLb(ctx, run, stop))) return;
    }
    if (!emergency) {
      run.step = 'drain';
      await drain(ctx, run, stop);
      run.moveTo('drained', 'restart');
    }
    if (stop.aborted) return run.moveTo('interrupted');
    run.step = 'restart';
    if (!(await restart(ctx, run))) return;
    if (!(await checkHealth(ctx, run))) return;
    if (run.depooledByRun && (await repool(ctx, run)) === 'repooled') run.moveTo('repooled', 'done');
    run.moveTo('done', 'done');
  } catch (error) {
    // Why: a soft stop aborts waits (LB, drain) of hosts not yet restarted; those are put back below.
    if (stop.aborted && ['pending', 'depooled', 'lb-confirmed', 'drained'].includes(run.state)) run.moveTo('interrupted');
    else if (run.state !== 'failed') run.fail(run.step, describeError(error), isRolloutError(error) ? error.code : 'E_INTERNAL');
  } finally {
    if (run.state === 'interrupted' && run.depooledByRun) {
      await repool(ctx, run).catch((error: unknown) => ctx.emit({ event: 'run.warning', message: `${run.name}: repool after interrupt failed: ${describeError(error)}; run \`rollout recover\`` }));
    }
    if (run.state === 'failed' && run.depooledByRun) {
      await journal(ctx, run, 'failed', run.failure?.reason).catch(() => undefined);
    }
    run.finishedAt = ctx.deps.clock.now();
    if (run.state === 'failed' || run.state === 'skipped') {
      const failure = run.failure ?? { reason: 'unknown', code: 'E_INTERNAL' };
      if (run.state === 'skipped') ctx.emit({ event: 'host.skipped', ...where, reason: failure.reason });
      else ctx.emit({ event: 'host.failed', ...where, step: run.step, reason: failure.reason, code: failure.code, depooled: run.depooledByRun });
    } else if (run.state === 'done') {
      ctx.emit({ event: 'host.done', ...where, durationMs: run.finishedAt - run.startedAt });
    }
  }
}

/** Guard, then every host of the batch concurrently; resolves when all of them have settled. */
export async function runBatch(ctx: StepContext, cluster: InventoryCluster, runs: readonly HostRun[], index: number, total: number, leftByRun: readonly string[] = []): Promise<void> {
  ctx.emit({ event: 'batch.started', dc: cluster.dc, cluster: cluster.name, batch: index + 1, batches: total, hosts: runs.map((r) => r.name) });
  await guardBatch(ctx, cluster, runs, leftByRun);
  await Promise.all(runs.map((run) => runHost(ctx, run)));
  const ok = runs.filter((r) => r.state === 'done').length;
  const failed = runs.filter((r) => r.state === 'failed').length;
  ctx.emit({ event: 'batch.finished', dc: cluster.dc, cluster: cluster.name, batch: index + 1, ok, failed });
}
