import { describeError, isRolloutError, RolloutError } from '../errors.js';
import type { InventoryCluster } from '../inventory/types.js';
import { runBatchKey } from '../coordination/keys.js';
import type { PoolEntry, PoolSnapshot } from '../pool/types.js';
import { poolKeysFor } from '../planner/plan.js';
import { sshTargetFor } from '../health/ssh-target.js';
import { checkCapacity } from './guards/capacity.js';
import { takeSlots, type BatchSlots } from './guards/slots.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';
import { confirmLb, confirmRepool, requireAgents, unconfirmedRepools } from './steps-lb.js';
import { checkHealth, drain, preflight, restart } from './steps-host.js';
import { depoolBatch, journal, repool } from './steps-pool.js';
import { endSilence, silenceHost } from './steps-alerts.js';
import { swapMasters, usesDualMaster } from './strategies/dual-master.js';
import { skipBelowOpcacheThreshold } from './strategies/opcache.js';
import { askOnFailure } from './ask.js';

const CAPACITY_POLL_MS = 2000;

const isYes = (entry: PoolEntry | undefined): boolean => entry?.state === 'present' && entry.value.pooled === 'yes';

/** Skips hosts whose key went missing, unreadable or inactive; fails those whose pool state moved under the plan. */
function settle(runs: readonly HostRun[], toDepool: ReadonlySet<HostRun>, emergency: boolean): void {
  for (const run of runs.filter((r) => r.state === 'pending')) {
    const entry = run.entry;
    // Why: a dual-master host never leaves the pool, so whoever changed its pool state is not in its way.
    if (usesDualMaster(run) && entry?.state === 'present' && entry.value.pooled !== 'inactive') continue;
    if (entry?.state !== 'present')
      run.skip(entry?.state === 'malformed' ? `malformed pool value: ${entry.reason}` : 'missing: no pool key in etcd');
    else if (entry.value.pooled === 'inactive') run.skip('inactive (set since the plan)');
    else if (toDepool.has(run) && entry.value.pooled !== 'yes')
      run.fail(
        'depool',
        `pool state changed before the depool (now ${entry.value.pooled}): left as it is`,
        'E_POOL_CONFLICT',
      );
    // Why: a host to restart in place that someone pooled meanwhile would lose its requests to the restart.
    else if (!emergency && !toDepool.has(run) && entry.value.pooled === 'yes')
      run.fail(
        'depool',
        'pooled by someone else since the batch was read: left as it is, not restarted',
        'E_POOL_CONFLICT',
      );
  }
}

/**
 * Fresh guarded read, the capacity guard, then the batch's depool as one transaction over the
 * cluster; any change to the cluster since the read aborts it, and the guard runs again on a new
 * read. Waits up to capacityWait for others' depools to clear.
 */
async function guardAndDepool(
  ctx: StepContext,
  cluster: InventoryCluster,
  runs: readonly HostRun[],
  toDepool: Set<HostRun>,
  batch: number,
  earlier: readonly HostRun[],
  window: WindowDispatch | undefined,
): Promise<void> {
  const leftByRun = earlier.filter((r) => r.depooledByRun).map((r) => r.name);
  const deadline = ctx.deps.clock.now() + ctx.options.capacityWaitSeconds * 1000;
  let announced = false;
  for (;;) {
    // Why: in a window, this run's own repools of the cluster wait while it reads and depools, so they never abort its transaction.
    const release = (await window?.exclusive()) ?? (() => undefined);
    let pauseMs: number;
    try {
      const read = await ctx.deps.pool.readGuarded(poolKeysFor([cluster]));
      if (window) Object.assign(window.recent, { snapshot: read.snapshot, atMs: ctx.deps.clock.now() });
      const live = window === undefined ? runs : runs.filter((run) => !window.deferred.includes(run));
      for (const run of live) if (run.state === 'pending') run.readFrom(read.snapshot);
      settle(live, toDepool, false);
      const wanted = live.filter((run) => run.state === 'pending' && toDepool.has(run));
      if (wanted.length === 0) return;
      // Why: capacity is what the load balancers serve: a repool they have not applied yet is not capacity.
      const notServing = new Set((await unconfirmedRepools(ctx, earlier)).map((r) => r.name));
      const check = checkCapacity(cluster, read.snapshot, wanted.length, notServing);
      // Why: a window waits for its own hosts in flight to come back rather than for others', and takes what fits now.
      if (!check.ok && window !== undefined && (check.maxDepool > 0 || window.inFlight > 0)) {
        for (const run of wanted.slice(check.maxDepool)) {
          toDepool.delete(run);
          run.step = 'pending';
          window.deferred.push(run);
        }
        if (check.maxDepool === 0) return;
        continue;
      }
      if (check.ok) {
        // Why: a Ctrl-C during the pre-check must not be followed by a depool.
        if (ctx.options.stop.aborted) return;
        const outcome = await depoolBatch(
          ctx,
          read,
          wanted,
          runBatchKey(ctx.options.runId, cluster.dc, cluster.name, batch),
        );
        if (outcome !== 'conflict') return;
        // The cluster changed between the read and the write: read and guard again at once, within capacityWait.
        if (ctx.deps.clock.now() >= deadline) {
          throw new RolloutError(
            'E_POOL_CONFLICT',
            `${cluster.name}@${cluster.dc}: its pool state kept changing between the capacity guard's read and the depool for ${ctx.options.capacityWaitSeconds}s; nothing of batch ${batch} was depooled`,
            { where: `${cluster.name}@${cluster.dc}` },
          );
        }
        // Why: with an adapter that answers at once, a retry loop that never yields starves timers and signals (a hang).
        pauseMs = 0;
      } else if (leftByRun.length > 0) {
        // Why: hosts this run failed stay depooled until someone fixes them; waiting for them is pointless.
        throw new RolloutError(
          'E_CAPACITY',
          `capacity guard: ${check.text}: ${leftByRun.join(', ')} failed earlier in this run and stay depooled, so no more hosts of ${cluster.name}@${cluster.dc} can be depooled. Fix and repool them, then run again`,
          { where: `${cluster.name}@${cluster.dc}` },
        );
      } else if (ctx.deps.clock.now() >= deadline) {
        throw new RolloutError(
          'E_CAPACITY',
          `capacity guard: ${check.text}; waited ${ctx.options.capacityWaitSeconds}s for hosts others depooled to come back. Repool them, or lower minPooled/--batch-size`,
          { where: `${cluster.name}@${cluster.dc}` },
        );
      } else {
        if (!announced) {
          announced = true;
          ctx.emit({
            event: 'capacity.waiting',
            dc: cluster.dc,
            cluster: cluster.name,
            pooled: check.pooled,
            required: check.required,
            wanted: wanted.length,
          });
        }
        pauseMs = CAPACITY_POLL_MS;
      }
    } finally {
      release();
    }
    if (pauseMs === 0) await new Promise((resolve) => setImmediate(resolve));
    else await ctx.deps.sleep(pauseMs, ctx.options.stop);
  }
}

/** After the depool: one host through LB confirmation, drain, restart, health and repool. */
export async function runHost(ctx: StepContext, run: HostRun): Promise<void> {
  const { stop, emergency } = ctx.options;
  try {
    if (run.state !== 'pending' && run.state !== 'depooled') return;
    if (stop.aborted) return run.moveTo('interrupted');
    if (!(await silenceHost(ctx, run))) return;
    if (usesDualMaster(run)) return await swapMasters(ctx, run);
    if (run.state === 'depooled' && !(await confirmLb(ctx, run, stop))) return;
    if (!emergency) {
      run.step = 'drain';
      await drain(ctx, run, stop);
      run.moveTo('drained', 'restart');
    }
    if (stop.aborted) return run.moveTo('interrupted');
    run.step = 'restart';
    if (!(await restart(ctx, run))) return;
    if (!(await checkHealth(ctx, run))) return;
    if (run.depooledByRun && (await repool(ctx, run)) === 'repooled') {
      await confirmRepool(ctx, run);
      run.moveTo('repooled', 'done');
    }
    run.moveTo('done', 'done');
  } catch (error) {
    // Why: a soft stop aborts waits (LB, drain) of hosts not yet restarted; those are put back below.
    if (stop.aborted && ['pending', 'depooled', 'lb-confirmed', 'drained'].includes(run.state))
      run.moveTo('interrupted');
    else if (run.state !== 'failed')
      run.fail(run.step, describeError(error), isRolloutError(error) ? error.code : 'E_INTERNAL');
  } finally {
    await askOnFailure(ctx, run);
    await finishHost(ctx, run);
  }
}

/** Puts back what an interrupted host had depooled, journals a failure, and reports the host's end. */
async function finishHost(ctx: StepContext, run: HostRun): Promise<void> {
  const where = { dc: run.planned.dc, cluster: run.planned.cluster, host: run.name };
  // Why: a host taken over from a stopped run was never restarted by this one: it stays depooled, for the next resume or recover.
  if (run.state === 'interrupted' && run.depooledByRun && !run.adopted) {
    await repool(ctx, run).catch((error: unknown) =>
      ctx.emit({
        event: 'run.warning',
        message: `${run.name}: repool after interrupt failed: ${describeError(error)}; run \`rollout recover\``,
      }),
    );
  }
  if (run.state === 'failed' && run.depooledByRun) {
    await journal(ctx, run, 'failed', run.failure?.reason).catch(() => undefined);
  }
  await endSilence(ctx, run);
  run.finishedAt = ctx.deps.clock.now();
  // Why: a run holds connections for the hosts in flight only, so memory follows the batches in flight, not the fleet.
  ctx.deps.transport.release(sshTargetFor(run.host));
  if (run.state === 'failed' || run.state === 'skipped') {
    const failure = run.failure ?? { reason: 'unknown', code: 'E_INTERNAL' };
    if (run.state === 'skipped') ctx.emit({ event: 'host.skipped', ...where, reason: failure.reason });
    else
      ctx.emit({
        event: 'host.failed',
        ...where,
        step: run.step,
        reason: failure.reason,
        code: failure.code,
        depooled: run.depooledByRun,
      });
  } else if (run.state === 'done') {
    ctx.emit({ event: 'host.done', ...where, durationMs: run.finishedAt - run.startedAt });
  }
}

/** A window's dispatch: how many of the cluster's hosts it has in flight, and where hosts that do not fit yet go. */
export interface WindowDispatch {
  /** Its hosts past their depool and not yet complete: those the guard may wait for. */
  readonly inFlight: number;
  /** Hosts the capacity guard had no room for: still pending, back to the head of the queue. */
  readonly deferred: HostRun[];
  /** Holds back this run's own repools of the cluster while a guarded read and its depool run (src/orchestrator/cluster-gate.ts). */
  readonly exclusive: () => Promise<() => void>;
  /** The window's latest read of the cluster (its last guarded read; emergency: its last read), shared by its dispatches. */
  readonly recent: { snapshot: PoolSnapshot | undefined; atMs: number };
}

/**
 * How old a window's latest read of the cluster may be to decide a dispatch's depools (the
 * guarded read re-checks every host before the write): a busy window then pays no read per dispatch.
 */
const RECENT_READ_MS = 1000;

/** A dispatch's hosts after their pre-checks, and those of them to depool. */
export interface PreparedDispatch {
  readonly runs: readonly HostRun[];
  readonly toDepool: Set<HostRun>;
}

/**
 * A dispatch's first read, which touches no pool key: it decides which hosts to depool (their step
 * becomes 'depool'). Their pre-checks (`precheck`) come next, before the guard.
 */
export async function readDispatch(
  ctx: StepContext,
  cluster: InventoryCluster,
  runs: readonly HostRun[],
  recent?: WindowDispatch['recent'],
): Promise<Set<HostRun>> {
  for (const run of runs) run.startedAt = ctx.deps.clock.now();
  const cached =
    recent !== undefined && ctx.deps.clock.now() - recent.atMs <= RECENT_READ_MS ? recent.snapshot : undefined;
  const first = cached ?? (await ctx.deps.pool.read(poolKeysFor([cluster])));
  if (recent && cached === undefined) Object.assign(recent, { snapshot: first, atMs: ctx.deps.clock.now() });
  for (const run of runs) run.readFrom(first);
  await skipBelowOpcacheThreshold(ctx, runs);
  const toDepool = new Set(
    ctx.options.emergency
      ? []
      : runs.filter((run) => run.state === 'pending' && isYes(run.entry) && !usesDualMaster(run)),
  );
  for (const run of toDepool) run.step = 'depool';
  return toDepool;
}

/** A host's checks before its depool: reachable over SSH, and its alerts silenced; false when it failed one. */
export async function precheck(ctx: StepContext, run: HostRun): Promise<boolean> {
  return ctx.options.stop.aborted ? false : (await preflight(ctx, run)) && (await silenceHost(ctx, run));
}

/**
 * A dispatch's second half: restart slots, then the guarded depool of the hosts still to depool
 * as one transaction, `number` naming its commit marker. Resolves the restart slots it took; the
 * caller then runs `runHost` for each host not deferred. A window runs one at a time per cluster.
 */
export async function admitDispatch(
  ctx: StepContext,
  cluster: InventoryCluster,
  prepared: PreparedDispatch,
  number: number,
  earlier: readonly HostRun[],
  window?: WindowDispatch,
): Promise<BatchSlots> {
  const { runs, toDepool } = prepared;
  let slots: BatchSlots | undefined;
  try {
    slots = await takeSlots(ctx, cluster, runs, number);
    // Why: an emergency run writes nothing, so the first read is all it needs: no guard, no transaction.
    if (ctx.options.emergency) settle(runs, toDepool, true);
    else {
      await requireAgents(ctx, [...toDepool]);
      await guardAndDepool(ctx, cluster, runs, toDepool, number, earlier, window);
    }
  } catch (error) {
    // Why: hosts already failed (pre-check) or skipped are reported even when the batch goes no further.
    await finishUnstarted(ctx, runs);
    await slots?.releaseAll();
    throw error;
  }
  for (const run of window?.deferred ?? []) await slots.release(run);
  return slots;
}

/** Reports the hosts of a dispatch that went no further and already failed (pre-check) or were skipped. */
export async function finishUnstarted(ctx: StepContext, runs: readonly HostRun[]): Promise<void> {
  await Promise.all(
    runs.filter((run) => run.state === 'failed' || run.state === 'skipped').map((run) => finishHost(ctx, run)),
  );
}

/** A barrier batch's dispatch: its read, every pre-check, then its admission. */
export async function dispatchHosts(
  ctx: StepContext,
  cluster: InventoryCluster,
  runs: readonly HostRun[],
  number: number,
  earlier: readonly HostRun[],
): Promise<BatchSlots> {
  const toDepool = await readDispatch(ctx, cluster, runs);
  // Why: the pre-checks run before the guard's read, so nothing slow sits between it and the depool's transaction.
  await Promise.all([...toDepool].map((run) => precheck(ctx, run)));
  return admitDispatch(ctx, cluster, { runs, toDepool }, number, earlier);
}

/**
 * A batch: every host dispatched at once, each through its steps concurrently; the next batch
 * starts when the slowest is done.
 */
export async function runBatch(
  ctx: StepContext,
  cluster: InventoryCluster,
  runs: readonly HostRun[],
  index: number,
  total: number,
  earlier: readonly HostRun[] = [],
): Promise<void> {
  ctx.emit({
    event: 'batch.started',
    dc: cluster.dc,
    cluster: cluster.name,
    batch: index + 1,
    batches: total,
    hosts: runs.map((r) => r.name),
  });
  const slots = await dispatchHosts(ctx, cluster, runs, index + 1, earlier);
  await Promise.all(runs.map((run) => runHost(ctx, run).finally(() => slots.release(run))));
  const ok = runs.filter((r) => r.state === 'done').length;
  const failed = runs.filter((r) => r.state === 'failed').length;
  ctx.emit({ event: 'batch.finished', dc: cluster.dc, cluster: cluster.name, batch: index + 1, ok, failed });
}
