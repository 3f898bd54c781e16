import pLimit from 'p-limit';
import type { Deps } from '../deps.js';
import { describeError, EXIT, isRolloutError } from '../errors.js';
import { allClusters, allHosts } from '../inventory/types.js';
import type { ClusterPlan } from '../planner/types.js';
import { runBatch } from './batch.js';
import { FailureBudget } from './budget.js';
import { startCanary } from './guards/canary-gate.js';
import { createEmitter } from './emit.js';
import { HostRun, type HostOutcome } from './host-run.js';
import type { StepContext } from './step-context.js';
import type { RunInput } from './types.js';
import { runWindow } from './window.js';

export interface RunResult {
  readonly exitCode: number;
  readonly hosts: readonly HostOutcome[];
  readonly budgetExceeded: boolean;
  readonly capacityRefused: readonly string[];
  /** Clusters whose canary gate said no: `cluster@dc`. */
  readonly canaryFailed: readonly string[];
}

/**
 * The one sequencer: clusters in parallel (up to parallelClusters); within a cluster either a
 * sliding window of hosts (src/orchestrator/window.ts) or batches in order, hosts concurrently
 * within a batch. Stops starting hosts when the failure budget is passed or on a soft stop;
 * running steps always finish.
 */
export async function runRollout(deps: Deps, input: RunInput): Promise<RunResult> {
  const { inventory, plan, options } = input;
  const emit = createEmitter(deps, options.runId);
  const ctx: StepContext = { deps, emit, journal: input.journal, options };
  const started = deps.clock.now();
  const byName = new Map(allHosts(inventory).map((host) => [host.name, host] as const));
  const clusters = new Map(
    allClusters(inventory).map((cluster) => [`${cluster.dc}/${cluster.name}`, cluster] as const),
  );
  const batchesOf = (cp: ClusterPlan): HostRun[][] =>
    cp.batches.map((b) =>
      b.hosts.map((h) => adopt(new HostRun(h, byName.get(h.host) ?? missingHost(h.host)), input.adopted)),
    );
  const work = plan.clusters.map((cp) => ({
    cp,
    cluster: clusters.get(`${cp.dc}/${cp.cluster}`),
    batches: batchesOf(cp),
  }));
  const budget = new FailureBudget(input);
  const capacityRefused: string[] = [];
  const skippedOutcomes: HostOutcome[] = [];
  const canaryFailed: string[] = [];

  emit({
    event: 'run.started',
    ...input.meta,
    emergency: options.emergency,
    release: options.release ?? null,
    clusters: plan.clusters.map((cp) => ({
      dc: cp.dc,
      cluster: cp.cluster,
      hosts: cp.batches.reduce((n, b) => n + b.hosts.length, 0),
      batches: cp.batches.length,
      mode: cp.mode,
      ...(cp.window === undefined ? {} : { width: cp.window.widths[0] ?? 1 }),
    })),
  });
  for (const { cp } of work) {
    for (const s of cp.skipped) {
      emit({ event: 'host.skipped', dc: cp.dc, cluster: cp.cluster, host: s.host, reason: s.reason });
      skippedOutcomes.push({
        host: s.host,
        dc: cp.dc,
        cluster: cp.cluster,
        outcome: 'skipped',
        step: 'pending',
        reason: s.reason,
        code: undefined,
        leftDepooled: false,
        durationMs: 0,
      });
    }
  }

  const runCluster = async ({ cp, cluster, batches }: (typeof work)[number]): Promise<void> => {
    if (!cluster) return;
    if (cp.blocked) {
      capacityRefused.push(`${cp.cluster}@${cp.dc}: ${cp.blocked.reason}`);
      return;
    }
    const planned = batches.reduce((n, b) => n + b.length, 0);
    const canary = await startCanary(ctx, cluster, cp.canary);
    if (canary?.blocked !== undefined) return void canaryFailed.push(`${cp.cluster}@${cp.dc}`);
    const windowed = cp.mode === 'window' && cp.window !== undefined;
    for (const [index, runs] of batches.entries()) {
      if (windowed && index === (canary ? 1 : 0)) {
        const ended = await runWindow(
          ctx,
          {
            cp,
            cluster,
            window: cp.window,
            runs: batches.slice(index).flat(),
            earlier: batches.slice(0, index).flat(),
            firstDispatch: index + 1,
            planned,
          },
          budget,
        );
        if (ended !== undefined) capacityRefused.push(ended.capacityRefused);
        return;
      }
      if (options.stop.aborted || budget.tripped) return;
      if (options.steering && (await options.steering.beforeDispatch(cp)) === 'stop') return;
      if (options.stop.aborted || budget.tripped) return;
      try {
        await runBatch(ctx, cluster, runs, index, batches.length, batches.slice(0, index).flat());
      } catch (error) {
        if (options.stop.aborted) return;
        if (isRolloutError(error, 'E_CAPACITY')) {
          capacityRefused.push(error.message);
          emit({ event: 'run.warning', message: error.message });
          return;
        }
        // Why: an error outside any host's steps (etcd down during the guard) stops this cluster, not the others.
        emit({
          event: 'run.warning',
          message: `${cp.cluster}@${cp.dc}: batch ${index + 1} stopped: ${describeError(error)}`,
        });
        for (const run of runs)
          if (run.state === 'pending')
            run.fail('pending', describeError(error), isRolloutError(error) ? error.code : 'E_INTERNAL');
        budget.record(cluster, planned);
        return;
      }
      for (const run of runs) if (run.state === 'failed') budget.record(cluster, planned);
      budget.afterBatch(cluster, index + 1, runs);
      if (budget.tripped)
        emit({
          event: 'run.warning',
          message: `failure budget exceeded (${budget.tripped}): no new batches will start`,
        });
      // Why: a failing canary gate stops this cluster only; the canaries stay restarted and pooled.
      if (index === 0 && canary && !budget.tripped && !options.stop.aborted && !(await canary.afterCanaries(runs)))
        return void canaryFailed.push(`${cp.cluster}@${cp.dc}`);
    }
  };
  const limit = pLimit(Math.max(1, options.parallelClusters));
  await Promise.all(work.map((w) => limit(() => runCluster(w))));

  const hosts = [...skippedOutcomes, ...work.flatMap((w) => w.batches.flat().map((run) => run.outcome()))];
  const count = (o: HostOutcome['outcome']): number => hosts.filter((h) => h.outcome === o).length;
  // Why: losing etcd mid-run is its own exit code, so the operator knows to check etcd, then `rollout recover`.
  const etcdLost = hosts.some((h) => h.code === 'E_ETCD_UNREACHABLE');
  // Why: only the operator's own interrupt is exit 130; a run stopped by losing its lock or by an
  // emergency's preemption did not finish its hosts: exit 1, and run.finished says the same.
  const interrupted = options.stop.aborted && (options.interrupt === undefined || options.interrupt.aborted);
  const exitCode = interrupted
    ? EXIT.interrupted
    : options.stop.aborted
      ? EXIT.failedHosts
      : etcdLost
        ? EXIT.etcdUnreachable
        : count('failed') > 0 || budget.tripped || canaryFailed.length > 0
          ? EXIT.failedHosts
          : capacityRefused.length > 0
            ? EXIT.capacity
            : EXIT.ok;
  if (options.stop.aborted) emit({ event: 'run.interrupted', signal: String(options.stop.reason ?? 'SIGINT') });
  emit({
    event: 'run.finished',
    exitCode,
    ok: count('done'),
    failed: count('failed'),
    skipped: count('skipped'),
    notStarted: count('not-started') + count('interrupted'),
    durationMs: deps.clock.now() - started,
  });
  return { exitCode, hosts, budgetExceeded: budget.tripped !== undefined, capacityRefused, canaryFailed };
}

/** `--resume`: a host the stopped run left depooled is this run's, as if it had depooled it itself. */
function adopt(run: HostRun, adopted: RunInput['adopted']): HostRun {
  const host = adopted?.get(run.name);
  const first = host?.keys[0];
  if (host === undefined || first === undefined) return run;
  run.adopted = true;
  run.wroteKeys = host.keys.map((k) => ({
    read: { key: k.key, state: 'present', value: k.prior, modRevision: k.priorRevision },
    value: k.wrote.value,
    revision: k.wrote.revision,
  }));
  run.wrote = first.wrote;
  run.depooledByRun = true;
  return run;
}

function missingHost(name: string): never {
  throw new Error(`planned host ${name} is not in the inventory (a bug in rollout)`);
}
