import { describeError, isRolloutError } from '../errors.js';
import type { InventoryCluster } from '../inventory/types.js';
import type { ClusterPlan } from '../planner/types.js';
import { windowWidth, type WindowPlan } from '../planner/window.js';
import {
  admitDispatch,
  finishUnstarted,
  precheck,
  readDispatch,
  runHost,
  type PreparedDispatch,
  type WindowDispatch,
} from './batch.js';
import type { FailureBudget } from './budget.js';
import { createClusterGate } from './cluster-gate.js';
import type { HostRun } from './host-run.js';
import type { StepContext } from './step-context.js';

/** One cluster's window: its hosts in plan order, after the canary batch (already run) if any. */
export interface WindowWork {
  readonly cp: ClusterPlan;
  readonly cluster: InventoryCluster;
  readonly window: WindowPlan;
  readonly runs: readonly HostRun[];
  /** Hosts this run already finished in the cluster (the canaries): their repools count for the guard. */
  readonly earlier: readonly HostRun[];
  /** The number of the first dispatch's commit marker (after the canary batch's). */
  readonly firstDispatch: number;
  /** Hosts planned in the cluster, for a percentage failure budget. */
  readonly planned: number;
}

/** How long a dispatch waits for its slowest host's pre-checks (the SSH connect) before the others go on without it. */
const PRECHECK_HOLD_MS = 2000;

/** Why a window stopped early: a capacity refusal (exit 4) or a warning already emitted. */
export type WindowEnd = { readonly capacityRefused: string } | undefined;

/** A promise that settles at the next completion, renewed each time. */
function pulse(): { wait: () => Promise<void>; fire: () => void } {
  let fire = (): void => undefined;
  let next = new Promise<void>((resolve) => (fire = resolve));
  return {
    wait: () => next,
    fire: () => {
      const done = fire;
      next = new Promise<void>((resolve) => (fire = resolve));
      done();
    },
  };
}

/**
 * The sliding window of one cluster: at most `width` hosts between their dispatch and their
 * completion, a new host dispatched as soon as one completes, in plan order. A dispatch's hosts
 * go to the guard together, in one guarded transaction, once their pre-checks are done; a host
 * still connecting PRECHECK_HOLD_MS on follows on its own, so a slow connect holds up its cluster
 * for no longer than that. Stops dispatching on a soft stop, a tripped budget or steering's
 * 'stop'; hosts already dispatched always finish (a soft stop depools none of those still in
 * their pre-checks), and after a failed dispatch those still waiting are not started.
 */
export async function runWindow(ctx: StepContext, work: WindowWork, budget: FailureBudget): Promise<WindowEnd> {
  const { cp, cluster, window } = work;
  const { stop, steering } = ctx.options;
  let queue: HostRun[] = [...work.runs];
  const order = new Map(work.runs.map((run, i) => [run, i] as const));
  let next = 0;
  const inFlight = new Set<HostRun>();
  const running = new Set<Promise<void>>();
  const preparing = new Set<Promise<void>>();
  const completed: HostRun[] = [...work.earlier];
  let completions = 0;
  const settled = pulse();
  let dispatch = work.firstDispatch;
  const recent: WindowDispatch['recent'] = { snapshot: undefined, atMs: 0 };
  const gate = createClusterGate();
  // Why: the hosts' own steps write through the gate, so their repools never abort a dispatch's depool.
  const hostCtx: StepContext = { ...ctx, deps: { ...ctx.deps, pool: gate.gated(ctx.deps.pool) } };
  let end: WindowEnd;
  let broken = false;
  /** Set to the completion count when the guard deferred hosts: no dispatch until one of this run's hosts comes back. */
  let heldAt: number | undefined;
  /** Prepared dispatches waiting for their turn at the guard. */
  const ready: PreparedDispatch[] = [];
  /** Admissions, one at a time. */
  let admissions: Promise<void> = Promise.resolve();

  const complete = (run: HostRun): void => {
    inFlight.delete(run);
    completed.push(run);
    completions += 1;
    const wasTripped = budget.tripped !== undefined;
    budget.afterHost(cluster, work.planned, run, windowWidth(window, completions - 1));
    if (!wasTripped && budget.tripped)
      ctx.emit({
        event: 'run.warning',
        message: `failure budget exceeded (${budget.tripped}): no new hosts will start`,
      });
    settled.fire();
  };
  const halted = (): boolean => stop.aborted || budget.tripped !== undefined || broken;
  const fail = (runs: readonly HostRun[], error: unknown): void => {
    for (const run of runs) inFlight.delete(run);
    if (!broken) {
      end = stopped(ctx, cp, error, runs);
      if (end === undefined && !stop.aborted) budget.record(cluster, work.planned);
    }
    broken = true;
    settled.fire();
  };
  /** Hosts dispatched that will not be depooled now: failed pre-checks are reported, the others stay not started. */
  const drop = async (runs: readonly HostRun[]): Promise<void> => {
    for (const run of runs) {
      inFlight.delete(run);
      if (run.state === 'pending') run.step = 'pending';
    }
    await finishUnstarted(ctx, runs);
    settled.fire();
  };
  const launch = (run: HostRun, release: (run: HostRun) => Promise<void>): void => {
    const host = runHost(hostCtx, run)
      .finally(() => release(run))
      .catch((error: unknown) => ctx.emit({ event: 'run.warning', message: `${run.name}: ${describeError(error)}` }))
      .finally(() => {
        running.delete(host);
        complete(run);
      });
    running.add(host);
  };
  /** Admits every prepared dispatch waiting: one guarded depool for all of them. */
  const admit = async (): Promise<void> => {
    const groups = ready.splice(0);
    if (groups.length === 0) return;
    const prepared = {
      runs: groups.flatMap((g) => g.runs),
      toDepool: new Set(groups.flatMap((g) => [...g.toDepool])),
    };
    // Why: after a dispatch failed (capacity refused, etcd gone), the hosts still waiting are not started; its pre-check alone changed nothing.
    if (broken) return drop(prepared.runs);
    const deferred: HostRun[] = [];
    let slots: Awaited<ReturnType<typeof admitDispatch>>;
    try {
      slots = await admitDispatch(ctx, cluster, prepared, dispatch++, completed, {
        inFlight: running.size,
        deferred,
        recent,
        exclusive: gate.exclusive,
      });
    } catch (error) {
      return fail(prepared.runs, error);
    }
    if (deferred.length > 0) {
      // Why: the capacity guard had no room for them yet: back to the head of the queue, in plan order.
      for (const run of deferred) inFlight.delete(run);
      queue = [...deferred, ...queue.slice(next)].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
      next = 0;
      // Why: deferred hosts wait for one of this run's own hosts to come back before the guard is asked again.
      if (running.size > 0) heldAt = completions;
    }
    for (const run of prepared.runs) if (!deferred.includes(run)) launch(run, slots.release);
    settled.fire();
  };
  const enqueue = (runs: readonly HostRun[], toDepool: ReadonlySet<HostRun>): Promise<void> => {
    if (runs.length === 0) return admissions;
    ready.push({ runs, toDepool: new Set(runs.filter((run) => toDepool.has(run))) });
    admissions = admissions.then(admit);
    return admissions;
  };
  /**
   * A dispatch: its read, its hosts' pre-checks, then one admission for all of them. A host still
   * connecting PRECHECK_HOLD_MS on no longer holds up the others: it follows on its own once checked.
   */
  const start = async (take: readonly HostRun[]): Promise<void> => {
    let toDepool: Set<HostRun>;
    try {
      toDepool = await readDispatch(ctx, cluster, take, recent);
    } catch (error) {
      return fail(take, error);
    }
    const late = new Set(toDepool);
    // Why: a pre-check that throws (a bug, not a refused host) fails its host before any depool, as one that says no.
    const checked = (run: HostRun): Promise<void> =>
      precheck(ctx, run)
        .catch((error: unknown) => run.fail('depool', describeError(error), 'E_INTERNAL'))
        .then(() => void late.delete(run));
    const checks = new Map([...toDepool].map((run) => [run, checked(run)] as const));
    const all = Promise.all(checks.values());
    await Promise.race([all, new Promise((resolve) => setImmediate(resolve))]);
    if (late.size > 0) {
      const allChecked = new AbortController();
      void all.then(() => allChecked.abort());
      await ctx.deps.sleep(PRECHECK_HOLD_MS, AbortSignal.any([allChecked.signal, stop])).catch(() => undefined);
    }
    for (const run of late) {
      const followed: Promise<void> = (checks.get(run) ?? Promise.resolve())
        .then(() => enqueue([run], toDepool))
        .finally(() => preparing.delete(followed));
      preparing.add(followed);
    }
    await enqueue(
      take.filter((run) => !late.has(run)),
      toDepool,
    );
  };

  while (next < queue.length && !halted()) {
    const width = windowWidth(window, completions);
    const free = width - inFlight.size;
    if (free <= 0 || (heldAt === completions && running.size > 0)) {
      await settled.wait();
      continue;
    }
    if (steering && (await steering.beforeDispatch(cp)) === 'stop') break;
    if (halted()) break;
    // Why: with a pace (cumin's batch sleep in a moving window) hosts enter one by one, each the pace after the last.
    const take = queue.slice(next, next + (steering?.paced ? 1 : free));
    next += take.length;
    for (const run of take) {
      inFlight.add(run);
      ctx.emit({
        event: 'host.dispatched',
        dc: cluster.dc,
        cluster: cluster.name,
        host: run.name,
        width,
        inFlight: inFlight.size,
      });
    }
    await start(take);
  }
  await Promise.all([...preparing]);
  await admissions;
  await Promise.all([...running]);
  return end;
}

/** A dispatch that threw outside any host's steps: a capacity refusal ends the cluster (exit 4), anything else fails its hosts. */
function stopped(ctx: StepContext, cp: ClusterPlan, error: unknown, take: readonly HostRun[]): WindowEnd {
  if (ctx.options.stop.aborted) return undefined;
  if (isRolloutError(error, 'E_CAPACITY')) {
    ctx.emit({ event: 'run.warning', message: error.message });
    return { capacityRefused: error.message };
  }
  ctx.emit({
    event: 'run.warning',
    message: `${cp.cluster}@${cp.dc}: dispatch of ${take.map((r) => r.name).join(', ')} stopped: ${describeError(error)}`,
  });
  for (const run of take)
    if (run.state === 'pending')
      run.fail('pending', describeError(error), isRolloutError(error) ? error.code : 'E_INTERNAL');
  return undefined;
}
