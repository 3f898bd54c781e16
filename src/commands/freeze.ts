import type { Io } from '../cli/io.js';
import { DURATION_HINT, parseDuration } from '../duration.js';
import { EXIT, RolloutError } from '../errors.js';
import {
  describeFreeze,
  describeScope,
  freezeKey,
  freezesCovering,
  liftFreeze,
  listFreezes,
  setFreeze,
  type Freeze,
} from '../coordination/freeze.js';
import type { ClusterRef } from '../coordination/lock.js';
import type { Kv } from '../kv/kv.js';
import { selectClusters } from '../planner/select.js';
import { connectPool, loadFor, whoami, type CommonArgs } from './context.js';

export interface FreezeArgs extends CommonArgs {
  readonly action: 'freeze' | 'unfreeze';
  readonly dc?: string | undefined;
  readonly cluster?: string | undefined;
  readonly reason?: string | undefined;
  readonly until?: string | undefined;
}

/** `--until`: an ISO 8601 time, or a duration from now (`2h`). */
export function parseUntil(text: string, nowMs: number): string {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(nowMs + ms).toISOString();
  const at = /^\d{4}-\d\d-\d\d/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (Number.isFinite(at) && at > nowMs) return new Date(at).toISOString();
  throw new RolloutError(
    'E_USAGE',
    `--until: expected a time to come like "2026-12-05T18:00:00Z" or ${DURATION_HINT} from now, got "${text}"`,
    { where: '--until' },
  );
}

/** `rollout freeze` / `rollout unfreeze`: a deploy freeze over the fleet, a datacenter or a cluster. */
export async function freezeCommand(args: FreezeArgs, io: Io): Promise<number> {
  const inventory = loadFor(args, io);
  const dc = args.dc ?? null;
  const cluster = args.cluster ?? null;
  // Why: a freeze on a misspelt cluster would protect nothing; the selection names the valid ones.
  selectClusters(inventory, {
    kind: 'sync',
    dcs: dc === null ? [] : [dc],
    clusters: cluster === null ? [] : [cluster],
  });
  const reason = args.reason?.trim() ?? '';
  if (args.action === 'freeze' && reason === '')
    throw new RolloutError('E_USAGE', 'freeze: --reason: say why (every refused run shows it)', { where: '--reason' });
  const until = args.action === 'freeze' && args.until !== undefined ? parseUntil(args.until, Date.now()) : undefined;
  const connection = await connectPool(inventory, args, io);
  try {
    const scope = describeScope(dc, cluster);
    if (args.action === 'freeze') {
      const me = whoami(io);
      const freeze: Freeze = {
        dc,
        cluster,
        user: me.user,
        machine: me.machine,
        reason,
        at: new Date().toISOString(),
        ...(until === undefined ? {} : { until }),
      };
      await setFreeze(connection.kv, freeze);
      io.stdout.write(
        `${describeFreeze(freeze)}\nnew sync/restart runs there are refused (exit 3) until \`rollout unfreeze${flags(args)}\`${until === undefined ? '' : ' or the freeze lapses'}; runs already going are not stopped (\`rollout pause\`/\`abort\` them)\n`,
      );
      return EXIT.ok;
    }
    const lifted = await liftFreeze(connection.kv, dc, cluster);
    io.stdout.write(lifted ? `lifted the freeze on ${scope}\n` : `no freeze was set on exactly ${scope}\n`);
    await sayRemaining(connection.kv, io, dc, cluster);
    return EXIT.ok;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const flags = (args: FreezeArgs): string =>
  `${args.dc === undefined ? '' : ` --dc ${args.dc}`}${args.cluster === undefined ? '' : ` --cluster ${args.cluster}`}`;

/** After an unfreeze: freezes of a wider or narrower scope still in force there. */
async function sayRemaining(kv: Kv, io: Io, dc: string | null, cluster: string | null): Promise<void> {
  const left = (await listFreezes(kv, Date.now())).filter(
    (f) =>
      (dc === null || f.dc === null || f.dc === dc) &&
      (cluster === null || f.cluster === null || f.cluster === cluster),
  );
  for (const f of left) io.stdout.write(`still in force: ${describeFreeze(f)}\n`);
}

/**
 * For sync/restart: refuses (E_FROZEN, exit 3) when a freeze covers a selected cluster, naming who
 * froze it and why; with --ignore-freeze returns what it overrides, for the run's first event.
 */
export async function checkFreeze(
  kv: Kv,
  clusters: readonly ClusterRef[],
  options: { readonly ignore: boolean; readonly emergency: boolean },
): Promise<string[]> {
  const covering = freezesCovering(await listFreezes(kv, Date.now()), clusters);
  if (covering.length === 0) return [];
  const said = covering.map(describeFreeze);
  if (options.ignore) return said;
  const how = options.emergency
    ? 'an emergency run needs --ignore-freeze too (the person who froze the fleet must know)'
    : 'wait for `rollout unfreeze`, or override with --ignore-freeze (it is logged)';
  const first = covering[0];
  throw new RolloutError(
    'E_FROZEN',
    `refused: ${said.join('; ')}. Nothing was changed; ${how}`,
    first === undefined ? {} : { key: freezeKey(first.dc, first.cluster) },
  );
}
