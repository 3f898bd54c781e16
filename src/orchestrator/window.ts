import { describeError, isRolloutError } from '../errors.js';
import type { InventoryCluster } from '../inventory/types.js';
import type { ClusterPlan } from '../planner/types.js';
import { windowWidth, type WindowPlan } from '../planner/window.js';
import { dispatchHosts, runHost, type WindowDispatch } from './batch.js';
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
 * completion, a new host dispatched as soon as one completes, in plan order. Hosts freed while a
 * dispatch is under way start together in the next one (one guarded depool transaction). Stops
 * dispatching on a soft stop, a tripped budget or steering's 'stop'; hosts in flight always finish.
 */
export async function runWindow(ctx: StepContext, work: WindowWork, budget: FailureBudget): Promise<WindowEnd> {
  const { cp, cluster, window } = work;
  const { stop, steering } = ctx.options;
  let queue: HostRun[] = [...work.runs];
  let next = 0;
  const inFlight = new Set<HostRun>();
  const running = new Set<Promise<void>>();
  const completed: HostRun[] = [...work.earlier];
  let completions = 0;
  const settled = pulse();
  let dispatch = work.firstDispatch;
  const recent: WindowDispatch['recent'] = { snapshot: undefined, atMs: 0 };
  const gate = createClusterGate();
  // Why: the hosts' own steps write through the gate, so their repools never abort a dispatch's depool.
  const hostCtx: StepContext = { ...ctx, deps: { ...ctx.deps, pool: gate.gated(ctx.deps.pool) } };
  let end: WindowEnd;

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
  const halted = (): boolean => stop.aborted || budget.tripped !== undefined;

  while (next < queue.length && !halted()) {
    const width = windowWidth(window, completions);
    const free = width - inFlight.size;
    if (free <= 0) {
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
    const deferred: HostRun[] = [];
    let slots: Awaited<ReturnType<typeof dispatchHosts>>;
    try {
      slots = await dispatchHosts(ctx, cluster, take, dispatch++, completed, {
        inFlight: inFlight.size - take.length,
        deferred,
        recent,
        exclusive: gate.exclusive,
      });
    } catch (error) {
      for (const run of take) inFlight.delete(run);
      end = stopped(ctx, cp, error, take);
      if (end === undefined && !stop.aborted) budget.record(cluster, work.planned);
      break;
    }
    if (deferred.length > 0) {
      // Why: the capacity guard had no room for them yet: back to the head of the queue, in plan order.
      for (const run of deferred) inFlight.delete(run);
      queue = [...deferred, ...queue.slice(next)];
      next = 0;
    }
    for (const run of take.filter((r) => !deferred.includes(r))) {
      const host = runHost(hostCtx, run)
        .finally(() => slots.release(run))
        .catch((error: unknown) => ctx.emit({ event: 'run.warning', message: `${run.name}: ${describeError(error)}` }))
        .finally(() => {
          running.delete(host);
          complete(run);
        });
      running.add(host);
    }
    // Why: deferred hosts wait for one of this run's own hosts to come back before the guard is asked again.
    if (deferred.length > 0 && inFlight.size > 0) await settled.wait();
  }
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
