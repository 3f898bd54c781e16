import type { Io } from '../cli/io.js';
import { EXIT } from '../errors.js';
import type { InventoryCluster } from '../inventory/types.js';
import { poolKeysFor } from '../planner/plan.js';
import { selectClusters } from '../planner/select.js';
import { listRuns } from '../coordination/journal.js';
import { describeHolder, listLocks } from '../coordination/lock.js';
import { readManual } from '../pool/manual.js';
import { unresolved } from '../orchestrator/recover.js';
import { poolKeyId } from '../pool/types.js';
import { connectPool, loadFor, type CommonArgs } from './context.js';
import { renderStatusTable, statusRows, type ChangeNote } from './status-rows.js';
import { agentRows, renderAgents } from './status-agents.js';
import { renderSlots } from './status-slots.js';
import { listSlots } from '../coordination/semaphore.js';
import { readRunsStatus, renderRunsStatus } from './status-runs.js';

export interface StatusArgs extends CommonArgs {
  readonly cluster?: unknown;
  readonly dc?: unknown;
  /** Only the live runs and the freezes (the pool table's --json stays a list of rows). */
  readonly runs?: boolean | undefined;
}

/** `rollout status [cluster] [dc]`: every host's pool state, who changed it and why, locks, unfinished runs. */
/** Per datacenter whose hosts do not confirm through agents: what does (`lb.confirm: pybal` or `none`). */
function lbConfirmers(clusters: readonly InventoryCluster[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const host of clusters.flatMap((c) => c.hosts)) {
    const lb = host.settings.lb;
    if (lb.confirm === 'pybal')
      out.set(host.dc, `confirmed through PyBal (lb.confirm: pybal): ${lb.pybal?.urls.join(', ') ?? '?'}`);
    else if (lb.confirm === 'none' && !out.has(host.dc))
      out.set(host.dc, 'lb.confirm: none (a fixed wait of lb.propagationSeconds)');
  }
  return out;
}

export async function statusCommand(args: StatusArgs, io: Io): Promise<number> {
  const inventory = loadFor(args, io);
  const cluster = typeof args.cluster === 'string' ? [args.cluster] : [];
  const dc = typeof args.dc === 'string' ? [args.dc] : [];
  const clusters = selectClusters(inventory, { kind: 'sync', dcs: dc, clusters: cluster });
  const connection = await connectPool(inventory, args, io);
  try {
    const live = await readRunsStatus(connection.kv, Date.now());
    if (args.runs === true) {
      io.stdout.write(args.json ? `${JSON.stringify(live)}\n` : renderRunsStatus(live));
      return EXIT.ok;
    }
    const [snapshot, manual, runs, locks] = await Promise.all([
      connection.pool.read(poolKeysFor(clusters)),
      readManual(connection.kv),
      listRuns(connection.kv),
      listLocks(connection.kv),
    ]);
    const notes = new Map<string, ChangeNote>();
    for (const run of runs) {
      const meta = run.meta;
      if (!meta) continue;
      for (const host of run.hosts) {
        if (host.wroteRevision === null) continue;
        const state = run.dead ? 'run died: `rollout recover`' : meta.finishedAt ? host.phase : 'in progress';
        notes.set(poolKeyId(host.key), {
          revision: host.wroteRevision,
          by: `${meta.holder.user}@${meta.holder.machine} (run ${run.runId})`,
          reason: `${meta.command} [${state}]${host.note ? `: ${host.note}` : ''}`,
          time: host.updatedAt,
        });
      }
    }
    for (const [id, record] of manual) {
      const known = notes.get(id);
      if (!known || known.revision < record.revision) {
        notes.set(id, {
          revision: record.revision,
          by: `${record.user}@${record.machine}`,
          reason: `${record.action}: ${record.reason}`,
          time: record.time,
        });
      }
    }
    const rows = statusRows(clusters, snapshot, notes);
    if (args.json) {
      io.stdout.write(`${JSON.stringify(rows)}\n`);
      return EXIT.ok;
    }
    io.stdout.write(renderStatusTable(rows));
    const counts = ['yes', 'no', 'inactive', 'missing', 'malformed']
      .map((s) => `${rows.filter((r) => r.pooled === s).length} ${s}`)
      .join(', ');
    io.stdout.write(`\n${rows.length} hosts: ${counts}\n`);
    for (const lock of locks) io.stdout.write(`lock ${lock.cluster}@${lock.dc}: ${describeHolder(lock.holder)}\n`);
    io.stdout.write(renderSlots(await listSlots(connection.kv)));
    io.stdout.write(renderRunsStatus(live));
    const dcs = [...new Set(clusters.map((c) => c.dc))];
    const agents = (
      await Promise.all(dcs.map((dc) => agentRows(connection.kv, connection.pool.prefix, dc, connection.feed)))
    ).flat();
    io.stdout.write(renderAgents(dcs, agents, io.stdout.isTTY === true && !io.env['NO_COLOR'], lbConfirmers(clusters)));
    for (const run of runs.filter(
      (r) => !r.dead && !r.locked && r.meta?.finishedAt !== undefined && r.hosts.some(unresolved),
    )) {
      io.stdout.write(
        `run ${run.runId} (${run.meta?.command ?? ''}) finished but left ${run.hosts.filter(unresolved).length} host(s) it depooled: run \`rollout recover\`\n`,
      );
    }
    for (const run of runs.filter((r) => r.dead)) {
      const who = run.meta
        ? `${run.meta.command}, ${run.meta.holder.user}@${run.meta.holder.machine}, ${run.meta.startedAt}`
        : 'no readable meta';
      io.stdout.write(`unfinished run ${run.runId} (${who}) died: run \`rollout recover\`\n`);
    }
    return EXIT.ok;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
