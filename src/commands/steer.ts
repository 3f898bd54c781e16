import type { Io } from '../cli/io.js';
import { EXIT, RolloutError } from '../errors.js';
import { listLiveRuns, sendControl, type ControlAction, type LiveRunRef } from '../coordination/control.js';
import { connectPool, loadFor, whoami, type CommonArgs } from './context.js';

export interface SteerArgs extends CommonArgs {
  readonly action: ControlAction;
  /** A run id; absent: the only live run. */
  readonly run?: string | undefined;
  readonly reason?: string | undefined;
}

const WHAT: Record<ControlAction, string> = {
  pause: 'pause: it starts nothing new; hosts in flight finish and are repooled, then it waits for `rollout resume`',
  resume: 'resume',
  abort: 'abort: it starts nothing new, finishes the running steps, repools what is healthy and exits 1',
};

/** "20261204T…-ab12cd  alice@deploy1 pid 4242  rollout sync --dc eqiad  (appserver@eqiad, api@eqiad)" */
export function describeLiveRun(run: LiveRunRef): string {
  const h = run.holder;
  return `${run.runId}  ${h.user}@${h.machine} pid ${h.pid}  ${h.command}  (${run.clusters.map((c) => `${c.cluster}@${c.dc}`).join(', ')})`;
}

/** The run to steer: the one named, else the only live one; several or none is a usage error (exit 2). */
export function chooseRun(live: readonly LiveRunRef[], named: string | undefined, action: ControlAction): LiveRunRef {
  const list =
    live.length === 0 ? 'there is no live run' : `live runs:\n${live.map((r) => `  ${describeLiveRun(r)}`).join('\n')}`;
  if (named !== undefined) {
    const found = live.find((r) => r.runId === named);
    if (found) return found;
    throw new RolloutError('E_USAGE', `${action}: no live run ${named} (it finished, or never held a lock); ${list}`, {
      where: 'RUN',
    });
  }
  const only = live[0];
  if (live.length === 1 && only) return only;
  throw new RolloutError(
    'E_USAGE',
    live.length === 0
      ? `${action}: there is no live run to ${action}`
      : `${action}: ${live.length} runs are live; name one: rollout ${action} RUN\n${list}`,
    { where: 'RUN' },
  );
}

/** `rollout pause|resume|abort [RUN]`: writes the run's control key; the run, watching it, acts within a round trip. */
export async function steerCommand(args: SteerArgs, io: Io): Promise<number> {
  const inventory = loadFor(args, io);
  const reason = args.reason?.trim() ?? '';
  if (args.action !== 'resume' && reason === '')
    throw new RolloutError('E_USAGE', `${args.action}: --reason: say why (it is shown to the run's operator)`, {
      where: '--reason',
    });
  const connection = await connectPool(inventory, args, io);
  try {
    const run = chooseRun(await listLiveRuns(connection.kv), args.run, args.action);
    const me = whoami(io);
    await sendControl(connection.kv, run.runId, {
      action: args.action,
      user: me.user,
      machine: me.machine,
      reason,
      at: new Date().toISOString(),
    });
    if (args.json) io.stdout.write(`${JSON.stringify({ runId: run.runId, action: args.action, reason })}\n`);
    else
      io.stdout.write(
        `asked run ${run.runId} (${run.holder.user}@${run.holder.machine}, ${run.holder.command}) to ${WHAT[args.action]}\n`,
      );
    return EXIT.ok;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
