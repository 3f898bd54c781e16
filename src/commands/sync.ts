import type { HostSilences } from '../alerts/types.js';
import type { Io } from '../cli/io.js';
import { realSleep, systemClock, type Deps } from '../deps.js';
import { EXIT, isRolloutError, RolloutError } from '../errors.js';
import { createProbes } from '../health/select.js';
import { createOpcacheProbe } from '../health/opcache.js';
import { parseOpcacheAbove } from './opcache-arg.js';
import { checkReleaseArg, checkReleaseTemplates } from './release-arg.js';
import { allHosts, type Amount, type Inventory, type InventoryCluster } from '../inventory/types.js';
import { createLogger, defaultLogFile, logEvent, type Logger } from '../log.js';
import { runRollout } from '../orchestrator/run.js';
import { planRollout, poolKeysFor } from '../planner/plan.js';
import { selectClusters } from '../planner/select.js';
import type { Plan, Selection } from '../planner/types.js';
import { createWatchedLbConfirmations } from '../lb/confirm-watch.js';
import { withPybal } from '../lb/confirm-port.js';
import { createPybalClient } from '../lb/pybal-client.js';
import { createPybalPoller } from '../lb/pybal-poller.js';
import { createJournal, newRunId, type Journal } from '../coordination/journal.js';
import {
  acquireLocks,
  describeHolder,
  listLocks,
  type ClusterRef,
  type LockHolder,
  type RunLocks,
} from '../coordination/lock.js';
import { clearPreempt, requestPreempt, watchPreempt } from '../coordination/preempt.js';
import { createLivePublisher } from '../coordination/live.js';
import { checkFreeze } from './freeze.js';
import { startSteering } from './steering-wire.js';
import { terminalQuestion } from './ask-terminal.js';
import { openResume, settleResume, type ResumeFrom } from './resume.js';
import { pruneResumeRecords } from '../coordination/resume.js';
import { withoutHosts } from '../planner/resume.js';
import { renderPlanText } from '../report/plan-text.js';
import { planToJson } from '../report/plan-json.js';
import { createSshTransport } from '../transport/ssh.js';
import { chooseReporter } from '../report/choose.js';
import { guardDeps, guardOptions, maxConcurrency } from './sync-guards.js';
import { createMetricsCollector, createRunNotifier, createSilences, observed } from './ops-deps.js';
import { publishMetrics } from '../metrics/publish.js';
import type { RolloutEvent } from '../report/events.js';
import { createSummarizer } from '../report/summary.js';
import { renderSummary } from '../report/summary-render.js';
import {
  connectPool,
  loadFor,
  parseAmountArg,
  parseBatchMode,
  parseRampArg,
  whoami,
  type CommonArgs,
  type PoolConnection,
} from './context.js';
import { runStopSignal } from './run-stop.js';

export interface SyncArgs extends CommonArgs {
  readonly kind: 'sync' | 'restart';
  readonly dcs: readonly string[];
  readonly clusters: readonly string[];
  readonly emergency?: boolean;
  readonly yes?: boolean;
  readonly 'dry-run'?: boolean;
  readonly release?: string | undefined;
  readonly 'batch-size'?: string | undefined;
  readonly 'batch-mode'?: string | undefined;
  readonly 'failure-budget'?: string | undefined;
  readonly 'parallel-clusters'?: number | undefined;
  readonly 'capacity-wait'?: number | undefined;
  readonly 'wait-lock'?: number | undefined;
  readonly 'ssh-concurrency'?: number | undefined;
  readonly reason?: string | undefined;
  readonly 'max-concurrency'?: number | undefined;
  readonly 'skip-canary-gate'?: boolean | undefined;
  readonly 'if-opcache-above'?: string | undefined;
  readonly deadline?: { readonly ms: number; readonly text: string } | undefined;
  readonly pace?: { readonly ms: number; readonly text: string } | undefined;
  readonly 'ignore-freeze'?: boolean | undefined;
  /** --resume RUN: restart only what that stopped run did not finish. */
  readonly resume?: string | undefined;
}

/** `rollout sync` and `rollout restart <cluster> <dc>`: plan from live state, lock, journal, run. */
export async function syncCommand(args: SyncArgs, io: Io): Promise<number> {
  const inventory = loadFor(args, io);
  const resume = await openResume(args, () => connectPool(inventory, args, io));
  const selection: Selection =
    resume?.from.selection ??
    (args.kind === 'restart'
      ? { kind: 'restart', dc: args.dcs[0] ?? '', cluster: args.clusters[0] ?? '' }
      : { kind: 'sync', dcs: args.dcs, clusters: args.clusters });
  const clusters = selectClusters(inventory, selection);
  const emergency = args.emergency === true;
  const batchSize = args['batch-size'] === undefined ? undefined : parseRampArg('--batch-size', args['batch-size']);
  const failureBudget =
    args['failure-budget'] === undefined ? undefined : parseAmountArg('--failure-budget', args['failure-budget']);
  checkReleaseArg(args.release);
  checkReleaseTemplates(clusters, {
    release: args.release,
    emergency,
    skipGate: args['skip-canary-gate'] === true,
  });
  const opcacheAbove = parseOpcacheAbove(args['if-opcache-above'], clusters);
  if (opcacheAbove !== undefined && args.release !== undefined)
    io.stderr.write(
      'rollout: --release given: code changed, so every host restarts; --if-opcache-above is not applied\n',
    );
  const connection = resume?.connection ?? (await connectPool(inventory, args, io));
  try {
    const snapshot = await connection.pool.read(poolKeysFor(clusters));
    const planned = planRollout({
      inventory,
      selection,
      snapshot,
      options: {
        emergency,
        batchSize,
        maxBatch: maxConcurrency(args, inventory),
        batchMode: parseBatchMode(args['batch-mode']),
      },
    });
    const plan = resume ? withoutHosts(planned, resume.from.done) : planned;
    if (resume)
      io.stderr.write(
        `rollout: resuming run ${resume.from.record.runId} (${resume.from.record.command}): ${resume.from.done.size} host(s) it finished are left alone; ${resume.from.adopted.size} it left depooled are taken over\n`,
      );
    if (args.release !== undefined) checkReleaseReadable(inventory, plan, args.release);
    if (args['dry-run']) {
      io.stdout.write(args.json ? `${JSON.stringify(planToJson(plan))}\n` : renderPlanText(plan));
      return plan.clusters.some((c) => c.blocked) ? EXIT.capacity : EXIT.ok;
    }
    const blocked = plan.clusters.filter((c) => c.blocked);
    if (blocked.length > 0) {
      throw new RolloutError(
        'E_CAPACITY',
        `${blocked.map((c) => c.blocked?.reason ?? '').join('; ')}. Nothing was changed; see \`rollout plan\` and \`rollout status\``,
      );
    }
    const freezeIgnored = await checkFreeze(
      connection.kv,
      clusters.map((c) => ({ dc: c.dc, cluster: c.name })),
      { ignore: args['ignore-freeze'] === true, emergency },
    );
    for (const freeze of freezeIgnored) io.stderr.write(`rollout: --ignore-freeze: running despite: ${freeze}\n`);
    const hostCount = plan.clusters.reduce((n, c) => n + c.batches.reduce((m, b) => m + b.hosts.length, 0), 0);
    if (emergency && !args.yes) {
      const windowed = plan.clusters.some((c) => c.mode === 'window');
      const brake =
        failureBudget === undefined
          ? ` It stops if ${windowed ? 'the last hosts of a cluster, as many as its window, all fail' : 'every host of a batch fails'} its health check (--failure-budget replaces this rule).`
          : '';
      const question = `EMERGENCY: hard-restart ${hostCount} host(s) in ${plan.clusters.length} cluster(s) while they serve traffic (no depool; requests in flight will fail).${brake} Go on?`;
      if (!io.confirm)
        throw new RolloutError(
          'E_USAGE',
          'refusing an emergency restart without confirmation: no terminal to ask on; add --yes to confirm in a script',
        );
      if (!(await io.confirm(question))) {
        io.stderr.write('rollout: not confirmed; nothing was changed\n');
        return EXIT.usage;
      }
    }
    return await execute({
      args,
      io,
      inventory,
      plan,
      connection,
      emergency,
      failureBudget,
      clusters,
      opcacheAbove,
      freezeIgnored,
      resume: resume?.from,
      selection,
    });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * With --release every host's health check must read the release it serves; an HTTP check that
 * cannot would fail every host after its depool, so it is refused before anything is written.
 */
function checkReleaseReadable(inventory: Inventory, plan: Plan, release: string): void {
  const planned = new Set(plan.clusters.flatMap((c) => c.batches.flatMap((b) => b.hosts.map((h) => h.host))));
  const blind = allHosts(inventory).filter(
    (h) =>
      planned.has(h.name) &&
      h.settings.health.type === 'http' &&
      h.settings.health.releaseHeader === undefined &&
      h.settings.health.releaseField === undefined,
  );
  const first = blind[0];
  if (first === undefined) return;
  const names =
    blind.length > 3
      ? `${blind
          .slice(0, 3)
          .map((h) => h.name)
          .join(', ')} and ${blind.length - 3} more`
      : blind.map((h) => h.name).join(', ');
  throw new RolloutError(
    'E_USAGE',
    `--release ${release}: the HTTP health check of ${names} cannot tell which release a host serves (set health.releaseHeader or health.releaseField for it, e.g. at ${first.source.file}:${first.source.line}), so every host would fail after its depool. Nothing was changed`,
    { host: first.name, where: '--release' },
  );
}

/** tmux, screen, or a systemd unit (INVOCATION_ID): a dropped SSH session does not hang the run up. */
function underMultiplexer(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env['TMUX'] || env['STY'] || env['INVOCATION_ID']);
}

/** How long an emergency run waits for a preempted graceful run to repool what is healthy and let go. */
const PREEMPT_WAIT_SECONDS = 60;

/**
 * An emergency run finding its clusters locked by a graceful run asks it, through an etcd key, to
 * stop (start nothing new, repool what is healthy, release the locks), then takes the locks within
 * a bounded wait. Another emergency run holding them is never preempted.
 */
async function takeOver(
  connection: PoolConnection,
  clusters: readonly ClusterRef[],
  holder: LockHolder,
  io: Io,
  lock: (waitSeconds: number) => Promise<RunLocks>,
): Promise<RunLocks> {
  const wanted = new Set(clusters.map((c) => `${c.dc}/${c.cluster}`));
  const held = (await listLocks(connection.kv)).filter((l) => wanted.has(`${l.dc}/${l.cluster}`));
  const emergencyHolder = held.find((l) => l.holder === null || /--emergency\b/.test(l.holder.command));
  if (emergencyHolder) {
    throw new RolloutError(
      'E_LOCKED',
      `${emergencyHolder.cluster}@${emergencyHolder.dc} is locked by ${describeHolder(emergencyHolder.holder)}, which an emergency run does not preempt: wait for it or use --wait-lock SECONDS`,
      { key: emergencyHolder.key },
    );
  }
  const written = await requestPreempt(connection.kv, held, {
    runId: holder.runId,
    user: holder.user,
    machine: holder.machine,
    reason: holder.reason,
    at: new Date().toISOString(),
  });
  for (const l of held)
    io.stderr.write(
      `rollout: ${l.cluster}@${l.dc} is held by ${describeHolder(l.holder)}: asked it to stop for this emergency run; waiting up to ${PREEMPT_WAIT_SECONDS}s for it to repool what is healthy and let go\n`,
    );
  try {
    return await lock(PREEMPT_WAIT_SECONDS);
  } finally {
    await clearPreempt(connection.kv, written);
  }
}

async function execute(input: {
  args: SyncArgs;
  io: Io;
  inventory: Inventory;
  plan: Plan;
  connection: PoolConnection;
  emergency: boolean;
  failureBudget: Amount | undefined;
  clusters: readonly InventoryCluster[];
  opcacheAbove: number | undefined;
  freezeIgnored: readonly string[];
  resume: ResumeFrom | undefined;
  selection: Selection;
}): Promise<number> {
  const { args, io, inventory, plan, connection, emergency, selection } = input;
  const who = whoami(io);
  const runId = newRunId(Date.now(), Math.random);
  const command = `rollout ${io.argv.join(' ')}`;
  const holder = {
    ...who,
    command,
    runId,
    startedAt: new Date().toISOString(),
    reason:
      args.reason ??
      (emergency ? 'emergency restart' : `rolling restart${args.release ? ` for release ${args.release}` : ''}`),
  };
  const toLock = input.clusters.map((c) => ({ dc: c.dc, cluster: c.name }));
  const lock = (waitSeconds: number): Promise<RunLocks> =>
    acquireLocks(connection.kv, toLock, holder, {
      waitSeconds,
      sleep: realSleep,
      now: () => Date.now(),
      signal: io.stop,
    }).catch((error: unknown) => {
      if (io.stop.aborted)
        throw new RolloutError('E_INTERRUPTED', 'interrupted while waiting for the cluster lock; nothing was changed', {
          cause: error,
        });
      throw error;
    });
  const locks = await lock(args['wait-lock'] ?? 0).catch(async (error: unknown) => {
    if (!emergency || !isRolloutError(error, 'E_LOCKED')) throw error;
    return takeOver(connection, toLock, holder, io, lock);
  });
  // Why: from here on every path, a throw included, ends in the finally that releases the locks and closes the journal.
  let journal: Journal | undefined;
  let log: Logger | undefined;
  const closers: (() => Promise<void> | void)[] = [];
  let silences: HostSilences | undefined;
  try {
    // The run stops on the operator's Ctrl-C, when it loses its cluster locks, or when an emergency run preempts it.
    const lockLost = new AbortController();
    const preempted = new AbortController();
    const aborted = new AbortController();
    const stop = runStopSignal([io.stop, lockLost.signal, preempted.signal, aborted.signal]);
    const logFile = args['log-file'] ?? defaultLogFile(runId, io.env);
    const runLog = createLogger({ file: logFile, ...(io.onExit ? { onExit: io.onExit } : {}) });
    log = runLog;
    const base = chooseReporter({
      stream: io.stdout,
      now: () => Date.now(),
      json: args.json === true,
      isTTY: io.stdout.isTTY === true,
      color: io.stdout.isTTY === true && !io.env['NO_COLOR'],
      ...(io.onExit ? { onExit: io.onExit } : {}),
    });
    // Why: a hook's or the keeper's warning goes where the run's own do: the terminal, the summary and the log.
    const warn = (message: string): void => {
      const event = { event: 'run.warning', message, time: new Date().toISOString(), runId } as const;
      base.emit(event);
      logEvent(runLog, event);
    };
    const notifier = createRunNotifier(
      inventory,
      { runId, ...who, command, reason: holder.reason, release: args.release, emergency },
      io.env,
      warn,
    );
    const metrics = createMetricsCollector(inventory, emergency);
    const live = createLivePublisher(connection.kv, locks.lease, warn);
    // Why: the terminal may be gone (a hangup) or scrolled away: the log keeps the same summary the terminal shows.
    const summary = createSummarizer();
    closers.push(() => void runLog.info({ runId }, `summary:\n${renderSummary(summary.result())}`));
    closers.push(() => live.flush());
    const report = observed(base, [
      (event: RolloutEvent) => live.observe(event),
      (event: RolloutEvent) => summary.apply(event),
      ...(notifier === undefined ? [] : [(event: RolloutEvent) => notifier.observe(event)]),
      ...(metrics === undefined ? [] : [(event: RolloutEvent) => metrics.observe(event)]),
    ]);
    // Why: silences, metrics and hooks end before the reporter closes, so their warnings still reach it.
    closers.push(async () => {
      await silences?.close();
      const figures = metrics?.figures();
      if (figures !== undefined && inventory.metrics !== undefined)
        await publishMetrics(inventory.metrics, figures, warn);
      await notifier?.flush();
    });
    closers.push(() => report.close());
    const agents = createWatchedLbConfirmations(connection.kv);
    // Why: a poller (and its keep-alive connections) only where a datacenter confirms through PyBal.
    const lb = allHosts(inventory).some((host) => host.settings.lb.confirm === 'pybal')
      ? withPybal(agents, createPybalPoller({ client: createPybalClient() }))
      : agents;
    closers.push(() => lb.close());
    const transport = createSshTransport({
      concurrency: args['ssh-concurrency'] ?? inventory.run.sshConcurrency,
      env: io.env,
      log: runLog,
    });
    closers.push(() => transport.close().catch(() => undefined));
    locks.onLost((error) => {
      report.emit({
        event: 'run.warning',
        message: `lost the cluster lock (${error.message}): starting nothing new`,
        time: new Date().toISOString(),
        runId,
      });
      lockLost.abort('lock lost');
    });
    const stopWatching = emergency
      ? () => undefined
      : watchPreempt(connection.kv, toLock, (request) => {
          const by = `emergency run ${request.runId} (${request.user}@${request.machine})`;
          report.emit({
            event: 'run.warning',
            message: `preempted by ${by}: starting nothing new, repooling what is healthy, then giving it the locks`,
            time: new Date().toISOString(),
            runId,
          });
          preempted.abort(`preempted by ${by}`);
        });
    closers.unshift(stopWatching);
    journal = await createJournal(
      connection.kv,
      { runId, holder, command, emergency, startedAt: holder.startedAt, lease: locks.lease.id },
      { fence: locks.fence },
    );
    const probes = createProbes(transport);
    silences = createSilences(inventory, { runId, ...who, command, reason: holder.reason }, io.env, warn);
    const deps: Deps = {
      pool: connection.pool,
      transport,
      lb,
      probe: probes.probe,
      drain: probes.drain,
      opcache: createOpcacheProbe(transport),
      clock: systemClock,
      sleep: realSleep,
      log: runLog,
      report,
      ...guardDeps(connection.kv, locks.lease, { env: io.env, passwordEnv: inventory.etcd.passwordEnv }),
      ...(silences === undefined ? {} : { silences }),
    };
    runLog.info(
      { runId, user: who.user, machine: who.machine, pid: who.pid, argv: io.argv, inventory: inventory.file },
      `${who.user}@${who.machine} ran ${command}`,
    );
    if (io.stdinIsTTY === true && !underMultiplexer(io.env))
      io.stderr.write(
        `rollout: hint: not inside tmux, screen or a systemd unit: if this session drops, the run stops softly (as on Ctrl-C); \`rollout sync --resume ${runId}\` restarts what it left\n`,
      );
    // Why: resume records are kept 7 days at most; every run start deletes the older ones, so they stay bounded.
    await pruneResumeRecords(connection.kv, Date.now()).catch(() => []);
    const steering = await startSteering({
      kv: connection.kv,
      deps,
      runId,
      stop,
      onStop: (reason) => aborted.abort(reason),
      deadline: args.deadline ?? inventory.run.deadline,
      pace: args.pace ?? inventory.run.pace,
      warn,
    });
    closers.unshift(steering.close);
    // Why: only an operator at a terminal can answer; --yes and scripts never wait on a question.
    const asks = io.ask && !args.yes && (inventory.run.askOnFailure ?? true) ? io.ask : undefined;
    const result = await runRollout(deps, {
      meta: {
        command: args.kind === 'restart' ? `restart ${args.clusters[0] ?? ''} ${args.dcs[0] ?? ''}` : 'sync',
        argv: io.argv,
        ...who,
        ...(input.freezeIgnored.length > 0 ? { freezeIgnored: input.freezeIgnored } : {}),
      },
      inventory,
      plan,
      journal,
      ...(input.resume ? { adopted: input.resume.adopted } : {}),
      options: {
        runId,
        emergency,
        release: args.release,
        failureBudget: input.failureBudget,
        parallelClusters: args['parallel-clusters'] ?? inventory.run.parallelClusters,
        capacityWaitSeconds: args['capacity-wait'] ?? inventory.run.capacityWaitSeconds,
        stop,
        interrupt: io.stop,
        fence: locks.fence,
        ...guardOptions(args, inventory, who),
        ...(input.opcacheAbove === undefined ? {} : { opcacheAbove: input.opcacheAbove }),
        steering: steering.steering,
        ...(asks
          ? {
              askOnFailure: terminalQuestion({
                ask: asks,
                steering: steering.steering,
                who: `${who.user}@${who.machine}`,
                stop,
              }),
            }
          : {}),
      },
    });
    await settleResume(connection.kv, {
      run: {
        runId,
        kind: selection.kind,
        dcs: selection.kind === 'restart' ? [selection.dc] : selection.dcs,
        clusters: selection.kind === 'restart' ? [selection.cluster] : selection.clusters,
        command,
        user: who.user,
        machine: who.machine,
        exitCode: result.exitCode,
      },
      hosts: result.hosts,
      from: input.resume,
      nowMs: Date.now(),
    }).catch((error: unknown) => warn(`could not keep what this run finished for --resume: ${String(error)}`));
    const leftDepooled = result.hosts.some((h) => h.leftDepooled);
    const finished = journal;
    journal = undefined;
    await finished
      .finish(result.exitCode === 0 ? 'ok' : leftDepooled ? 'finished-with-depooled-hosts' : `exit ${result.exitCode}`)
      .catch((error: unknown) => runLog.warn({ err: error }, 'could not close the journal'));
    // Why: every host is resolved (repooled, left to its owner, or never depooled): nothing for recover, and journals stay bounded.
    if (!leftDepooled)
      await finished
        .discard()
        .catch((error: unknown) => runLog.warn({ err: error }, 'could not delete the finished journal'));
    io.stderr.write(`log: ${logFile}\n`);
    return result.exitCode;
  } catch (error) {
    // Why: a throw mid-run may leave hosts depooled; the journal is closed but kept, so `rollout recover` repools them.
    await journal
      ?.finish(`error: ${isRolloutError(error) ? error.code : 'E_INTERNAL'}`)
      .catch((closeError: unknown) => log?.warn({ err: closeError }, 'could not close the journal'));
    throw error;
  } finally {
    for (const close of closers) await close();
    await locks.release().catch(() => undefined);
    // Why: `rollout report` reads this file; its last line (run.finished) is in it before we return.
    if (log) {
      const runLog = log;
      await new Promise<void>((resolve) => runLog.flush(() => resolve()));
    }
  }
}
