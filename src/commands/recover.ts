import type { Io } from '../cli/io.js';
import { realSleep, systemClock } from '../deps.js';
import { EXIT, RolloutError } from '../errors.js';
import { createProbes } from '../health/select.js';
import { allHosts, type Inventory } from '../inventory/types.js';
import { createAlertmanagerClient } from '../alerts/client.js';
import { expireRunSilences } from '../alerts/expire-runs.js';
import {
  recoverRuns,
  unresolved,
  type DeadRun,
  type RecoverOutcome,
  type RecoverPorts,
} from '../orchestrator/recover.js';
import { discardRun, finishRun, listRuns, recordJournalHost, type RunRecord } from '../coordination/journal.js';
import { forgetResumeRecord } from '../coordination/resume.js';
import type { Kv } from '../kv/kv.js';
import { acquireLocks } from '../coordination/lock.js';
import { createSshTransport } from '../transport/ssh.js';
import { terminalSafe } from '../report/terminal-safe.js';
import { connectPool, loadFor, whoami, type CommonArgs } from './context.js';

export interface RecoverArgs extends CommonArgs {
  readonly yes?: boolean;
  /** false (`--no-wait`): a dead run still inside its grace exits 75 (EX_TEMPFAIL) instead of being waited for. */
  readonly wait?: boolean | undefined;
  /** Seconds since a dead run's last journal write before recover acts on it (default 20). */
  readonly grace?: number | undefined;
  /** `--forget RUN`: drop what the run kept for `--resume`. */
  readonly forget?: string | undefined;
}

const DEFAULT_GRACE_SECONDS = 20;

/** When the run itself last wrote its journal (ms since the epoch): its start, or its latest own host record. */
function lastWrite(run: RunRecord): number {
  const times = [run.meta?.startedAt, ...run.hosts.filter((h) => h.recoveredBy === undefined).map((h) => h.updatedAt)]
    .map((t) => (t === undefined ? Number.NaN : Date.parse(t)))
    .filter(Number.isFinite);
  return times.length === 0 ? 0 : Math.max(...times);
}

function journalPorts(kv: Kv): RecoverPorts {
  return {
    record: (runId, entry) => recordJournalHost(kv, runId, entry),
    // Why: every host resolved, so nothing is left to track: the journal goes, and journals stay bounded.
    finish: async (runId, outcome) => {
      await finishRun(kv, runId, outcome);
      await discardRun(kv, runId);
    },
  };
}

function render(outcomes: readonly RecoverOutcome[]): string {
  // Why: a host in several pools has one outcome per key; those lines name the pool.
  const seen = outcomes.map((o) => `${o.runId} ${o.host}`);
  const several = new Set(seen.filter((id, i) => seen.indexOf(id) !== i));
  const label = (o: RecoverOutcome): string =>
    several.has(`${o.runId} ${o.host}`) && o.service !== undefined ? `${o.host}/${o.service}` : o.host;
  return outcomes
    .map(
      (o) =>
        `  ${label(o).padEnd(28)} ${o.cluster}@${o.dc}  run ${o.runId}  phase ${o.phase}, was ${o.prior}: ${o.action} — ${terminalSafe(o.detail)}\n`,
    )
    .join('');
}

const who = (r: RunRecord): string =>
  `${r.meta?.command ?? ''}, ${r.meta?.holder.user ?? ''}@${r.meta?.holder.machine ?? ''}`;

/** How often the countdown speaks while recover waits out a dead run's grace. */
const COUNTDOWN_STEP_MS = 5000;

/**
 * Lists the runs; while a dead run that left hosts in its journal is still inside its grace, waits
 * it out with a countdown on stderr (or, without waiting, says when to retry and gives `retryIn`).
 */
async function waitOutGrace(
  kv: Kv,
  grace: number,
  wait: boolean,
  io: Io,
): Promise<{ listed: RunRecord[]; fresh: RunRecord[]; retryIn?: number }> {
  for (;;) {
    const listed = await listRuns(kv);
    const left = (r: RunRecord): number => grace * 1000 - (Date.now() - lastWrite(r));
    // Why: a run whose lock lapsed a moment ago (etcd cut off from its machine) may still be finishing a restart:
    // its writes are fenced, but recover's health check and repool would race its SSH commands. Wait past the grace.
    const fresh = listed.filter((r) => r.dead && left(r) > 0);
    const waiting = fresh.filter((r) => r.hosts.some(unresolved));
    if (waiting.length === 0) return { listed, fresh };
    const waitMs = Math.max(...waiting.map(left));
    const seconds = Math.ceil(waitMs / 1000);
    for (const r of waiting)
      io.stderr.write(
        `rollout: run ${r.runId} (${who(r)}) died less than ${grace}s (--grace) after its last journal write and left ${r.hosts.filter(unresolved).length} host(s) in it: it may still be finishing a step on a host\n`,
      );
    if (!wait) {
      io.stderr.write(
        `rollout: --no-wait: retry \`rollout recover\` in ${seconds}s (exit 75), or pass --grace 0 if its machine is known to be down\n`,
      );
      return { listed, fresh, retryIn: seconds };
    }
    io.stderr.write(`rollout: waiting ${seconds}s for its grace to pass, then recovering (Ctrl-C to stop)\n`);
    for (let remaining = waitMs; remaining > 0; remaining -= COUNTDOWN_STEP_MS) {
      try {
        await realSleep(Math.min(COUNTDOWN_STEP_MS, remaining), io.stop);
      } catch (error) {
        throw new RolloutError('E_INTERRUPTED', 'interrupted while waiting out the grace; nothing was changed', {
          cause: error,
        });
      }
      if (remaining > COUNTDOWN_STEP_MS)
        io.stderr.write(`rollout: ${Math.ceil((remaining - COUNTDOWN_STEP_MS) / 1000)}s left\n`);
    }
  }
}

/** `rollout recover`: shows what dead runs left depooled and, once confirmed, health-checks and repools it. */
export async function recoverCommand(args: RecoverArgs, io: Io): Promise<number> {
  const inventory = loadFor(args, io);
  const connection = await connectPool(inventory, args, io);
  const transport = createSshTransport({ concurrency: inventory.run.sshConcurrency, env: io.env });
  try {
    if (args.forget !== undefined) return await forget(connection.kv, args.forget, io);
    const grace = args.grace ?? DEFAULT_GRACE_SECONDS;
    if (!Number.isFinite(grace) || grace < 0)
      throw new RolloutError('E_USAGE', `--grace: expected a number of seconds ≥ 0, got ${String(args.grace)}`, {
        where: '--grace',
      });
    const { listed, fresh, retryIn } = await waitOutGrace(connection.kv, grace, args.wait !== false, io);
    if (retryIn !== undefined) return EXIT.tempfail;
    const all = listed.filter((r) => !fresh.includes(r));
    // Dead runs, and finished ones that still left a host depooled (a failed repool, a failed host): both are recover's.
    const runs: DeadRun[] = all
      .filter((r) => r.dead || (r.meta?.finishedAt !== undefined && !r.locked && r.hosts.some(unresolved)))
      .map((r) => ({
        runId: r.runId,
        command: r.meta?.command ?? 'unknown command',
        who: r.meta ? `${r.meta.holder.user}@${r.meta.holder.machine}` : 'unknown',
        startedAt: r.meta?.startedAt ?? '',
        hosts: r.hosts,
        batches: r.batches,
        finished: r.meta?.finishedAt !== undefined,
      }));
    const write = (s: string): void => void io.stdout.write(s);
    if (runs.length === 0) {
      const live = all.filter((x) => x.locked && x.meta !== null && x.meta.finishedAt === undefined);
      if (args.json) write('[]\n');
      // Why: never "nothing to recover" while a journal still lists a host: a live (or just killed) run's may.
      else if (live.some((r) => r.hosts.some(unresolved)))
        write(
          `no dead run to recover now, but ${live.filter((r) => r.hosts.some(unresolved)).length} run(s) holding their lock still list hosts in their journal (see stderr)\n`,
        );
      else write('nothing to recover: no run died with hosts in its journal\n');
      // Why: a run killed a moment ago still holds its lock until the lease expires; say so rather than look finished.
      for (const r of live) {
        io.stderr.write(
          `rollout: run ${r.runId} (${r.meta?.command ?? ''}, ${r.meta?.holder.user ?? ''}@${r.meta?.holder.machine ?? ''} pid ${r.meta?.holder.pid ?? ''}) is not finished and holds its lock: it is running, or it was killed less than a lock lease (10 s) ago; if it was killed, retry \`rollout recover\` in a few seconds\n`,
        );
      }
      return EXIT.ok;
    }
    const probes = createProbes(transport);
    const deps = { pool: connection.pool, probe: probes.probe, sleep: realSleep, clock: systemClock };
    const hosts = new Map(allHosts(inventory).map((h) => [h.name, h] as const));
    const me = whoami(io);
    const who = `${me.user}@${me.machine}`;
    const ports = journalPorts(connection.kv);
    const preview = await recoverRuns(deps, { runs, hosts, act: false, who, ports });
    let act = args.yes === true;
    if (!args.json)
      for (const run of runs)
        write(
          `run ${run.runId} (${run.command}, ${run.who}, started ${run.startedAt}) ${run.finished ? 'finished and' : 'died and'} left:\n`,
        );
    // Why: with --yes the outcomes are the report; printing the preview too would list every host twice.
    if (!args.json && !act) write(preview.length > 0 ? render(preview) : '  no host depooled by it\n');
    if (!act && io.confirm && preview.some((o) => o.action === 'would-repool'))
      act = await io.confirm('health-check and repool these hosts?');
    if (!act) {
      if (args.json) write(`${JSON.stringify(preview)}\n`);
      else write('nothing changed; run `rollout recover --yes` to health-check and repool\n');
      return EXIT.ok;
    }
    const clusters = [
      ...new Map(
        runs.flatMap((r) =>
          r.hosts.map((h) => [`${h.key.dc}/${h.key.cluster}`, { dc: h.key.dc, cluster: h.key.cluster }] as const),
        ),
      ).values(),
    ];
    // Why: recover must not race a rollout that started on the same clusters meanwhile.
    const locks = await acquireLocks(
      connection.kv,
      clusters,
      {
        ...me,
        command: `rollout ${io.argv.join(' ')}`,
        runId: `recover-${Date.now()}`,
        startedAt: new Date().toISOString(),
        reason: 'rollout recover',
      },
      { sleep: realSleep, now: () => Date.now() },
    );
    try {
      const outcomes = await recoverRuns(deps, { runs, hosts, act: true, who, ports });
      await expireSilencesOf(inventory, runs, io);
      if (args.json) write(`${JSON.stringify(outcomes)}\n`);
      else if (args.yes === true) write(outcomes.length > 0 ? render(outcomes) : '  no host depooled by it\n');
      else {
        // After a confirmation the preview is on screen: say only what changed from it.
        const said = new Set(preview.map((o) => `${o.runId} ${o.host} ${o.service ?? ''} ${o.action}`));
        write(render(outcomes.filter((o) => !said.has(`${o.runId} ${o.host} ${o.service ?? ''} ${o.action}`))));
      }
      return outcomes.some((o) => o.action === 'unhealthy' || o.action === 'unknown-host') ? EXIT.failedHosts : EXIT.ok;
    } finally {
      await locks.release().catch(() => undefined);
    }
  } finally {
    await transport.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

/** `recover --forget RUN`: the run's resume record goes; its journal too when it lists no host it left depooled. */
async function forget(kv: Kv, runId: string, io: Io): Promise<number> {
  const record = await forgetResumeRecord(kv, runId);
  const journal = (await listRuns(kv)).find((r) => r.runId === runId);
  if (journal?.locked)
    throw new RolloutError('E_USAGE', `--forget ${runId}: that run is live; \`rollout abort\` it first`, {
      where: '--forget',
    });
  const left = journal?.hosts.filter(unresolved).length ?? 0;
  if (journal !== undefined && left === 0) await discardRun(kv, runId);
  if (!record && journal === undefined) {
    io.stderr.write(`rollout: --forget ${runId}: nothing is kept for that run\n`);
    return EXIT.usage;
  }
  io.stdout.write(
    `forgot run ${runId}: \`--resume ${runId}\` is no longer possible${left > 0 ? `; its journal still lists ${left} host(s) it left depooled, for \`rollout recover\`` : ''}\n`,
  );
  return EXIT.ok;
}

/** The dead runs' alert silences, when the inventory has `alerts:`: expired, said on stderr. */
async function expireSilencesOf(inventory: Inventory, runs: readonly DeadRun[], io: Io): Promise<void> {
  const am = inventory.alerts?.alertmanager;
  if (am === undefined) return;
  const api = createAlertmanagerClient({ ...am, env: io.env });
  const result = await expireRunSilences(
    api,
    runs.map((r) => r.runId),
  );
  if (result.warning !== undefined) io.stderr.write(`rollout: ${result.warning}\n`);
  else if (result.expired.length > 0)
    io.stderr.write(`rollout: expired ${result.expired.length} alert silence(s) the dead run(s) left\n`);
}
