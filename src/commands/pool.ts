import type { Io } from '../cli/io.js';
import { EXIT, isRolloutError, RolloutError } from '../errors.js';
import { allClusters, type Inventory, type InventoryCluster, type InventoryHost } from '../inventory/types.js';
import { checkCapacity } from '../orchestrator/guards/capacity.js';
import { poolKeysFor, poolKeysOf } from '../planner/plan.js';
import { hostEntries, pooledEverywhere } from '../pool/host-entry.js';
import { pruneManual, recordManual } from '../pool/manual.js';
import { poolKeyId, type PoolEntry, type PoolKey, type PoolStore } from '../pool/types.js';
import { connectPool, loadFor, whoami, type CommonArgs } from './context.js';

export interface PoolArgs extends CommonArgs {
  readonly action: 'pool' | 'depool';
  readonly hosts: readonly string[];
  readonly reason?: string | undefined;
  readonly force?: boolean;
  /** Only this pool of hosts in several (`services`); default: every pool of each host. */
  readonly service?: string | undefined;
}

/** The keys a manual pool or depool writes: every service of the host, or the one asked for. */
export function targetKeys(host: InventoryHost, service?: string): PoolKey[] {
  const keys = poolKeysOf(host);
  if (service === undefined) return keys;
  const key = keys.find((k) => k.service === service);
  if (key === undefined)
    throw new RolloutError(
      'E_USAGE',
      `--service ${service}: ${host.name} is not in that pool (its services: ${keys.map((k) => k.service).join(', ')})`,
      { host: host.name, where: '--service' },
    );
  return [key];
}

/** `mw1001` for a host in one pool, `mw1001/nginx` for one key of a host in several. */
function keyName(host: InventoryHost, key: PoolKey): string {
  return poolKeysOf(host).length > 1 ? `${host.name}/${key.service}` : host.name;
}

function findHosts(
  inventory: Inventory,
  names: readonly string[],
): { host: InventoryHost; cluster: InventoryCluster }[] {
  const index = new Map(
    allClusters(inventory).flatMap((cluster) => cluster.hosts.map((host) => [host.name, { host, cluster }] as const)),
  );
  const unknown = names.filter((n) => !index.has(n));
  if (unknown.length > 0) {
    throw new RolloutError(
      'E_USAGE',
      `unknown host(s) ${unknown.join(', ')}: not in ${inventory.file} (give full inventory names, e.g. ${index.keys().next().value ?? 'mw1001.eqiad.wmnet'})`,
      { host: unknown[0] ?? '' },
    );
  }
  return [...new Set(names)].map((n) => index.get(n) as { host: InventoryHost; cluster: InventoryCluster });
}

/** `rollout pool|depool <host…> --reason R`: CAS writes, recorded (who, why, when) for `rollout status`. */
export async function poolCommand(args: PoolArgs, io: Io): Promise<number> {
  const reason = (args.reason ?? '').trim();
  if (reason === '')
    throw new RolloutError('E_USAGE', `--reason: say why you ${args.action} (it is shown by \`rollout status\`)`, {
      where: '--reason',
    });
  const inventory = loadFor(args, io);
  const targets = findHosts(inventory, args.hosts);
  const connection = await connectPool(inventory, args, io);
  const who = whoami(io);
  try {
    // Why: refuse before the first write, so a bad host in the list never leaves the others half done.
    const keysOf = (host: InventoryHost): PoolKey[] => targetKeys(host, args.service);
    const all = await connection.pool.read(targets.flatMap((t) => keysOf(t.host)));
    for (const { host } of targets)
      for (const key of keysOf(host))
        checkWritable(host, all.get(poolKeyId(key)), args.action, '. Nothing was changed');
    const record = async (
      host: InventoryHost,
      key: PoolKey,
      revision: number,
      before: string,
      after: string,
    ): Promise<void> => {
      await recordManual(connection.kv, key, {
        action: args.action,
        user: who.user,
        machine: who.machine,
        reason,
        time: new Date().toISOString(),
        revision,
      });
      io.stdout.write(`${keyName(host, key)}: ${before} → ${after} (revision ${revision})\n`);
    };
    // Why: records of keys changed since are stale; pruning them here keeps /rollout/v1/manual/ bounded.
    const prune = async (): Promise<void> => {
      for (const cluster of new Set(targets.map((t) => t.cluster)))
        await pruneManual(connection.pool, cluster.dc, cluster.name).catch(() => 0);
    };
    if (args.action === 'depool') {
      for (const cluster of new Set(targets.map((t) => t.cluster))) {
        const hosts = targets.filter((t) => t.cluster === cluster).map((t) => t.host);
        const { revision, before } = await depoolCluster(
          connection.pool,
          cluster,
          hosts,
          args.force === true,
          args.service,
        );
        for (const host of hosts)
          for (const key of keysOf(host))
            await record(host, key, revision, before.get(poolKeyId(key)) ?? 'missing', 'no');
      }
      await prune();
      return EXIT.ok;
    }
    for (const { host } of targets)
      for (const key of keysOf(host)) {
        const entry = (await connection.pool.read([key])).get(poolKeyId(key));
        if (!entry) continue;
        checkWritable(host, entry, args.action, ' (it changed during this command)');
        const before = entry.state === 'present' ? entry.value.pooled : 'missing';
        const revision = await connection.pool.write(
          entry,
          entry.state === 'missing' ? { pooled: 'yes', weight: host.settings.weight } : { pooled: 'yes' },
        );
        await record(host, key, revision, before, 'yes');
      }
    await prune();
    return EXIT.ok;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const DEPOOL_ATTEMPTS = 5;

/**
 * The hosts of one cluster depooled in one transaction, guarded (unless forced) on the read it
 * compares: a change anywhere in the cluster since the read (another depool racing this one) aborts
 * it, and the guard is checked again on a fresh read.
 */
export async function depoolCluster(
  pool: PoolStore,
  cluster: InventoryCluster,
  hosts: readonly InventoryHost[],
  force: boolean,
  service?: string,
): Promise<{ revision: number; before: Map<string, string> }> {
  for (let attempt = 1; ; attempt += 1) {
    const read = await pool.readGuarded(poolKeysFor([cluster]));
    const entries = hosts.flatMap((host) =>
      targetKeys(host, service).map((key) => ({ host, entry: read.snapshot.get(poolKeyId(key)) })),
    );
    for (const { host, entry } of entries)
      checkWritable(host, entry, 'depool', ' (it changed during this command). Nothing was changed');
    if (!force) {
      // The guard, on fresh state: the same arithmetic as a rollout's; a host pooled in every service is one it takes out.
      const wanted = hosts.filter((host) => pooledEverywhere(hostEntries(read.snapshot, poolKeysOf(host)))).length;
      const check = checkCapacity(cluster, read.snapshot, wanted);
      if (!check.ok)
        throw new RolloutError(
          'E_CAPACITY',
          `refusing to depool: ${check.text}. Nothing was changed; use --force to depool anyway`,
          { where: `${cluster.name}@${cluster.dc}` },
        );
    }
    // Why: keyed by pool key, so a host in several pools says what each of its keys was.
    const before = new Map(
      entries.map(({ host, entry }) => [
        entry === undefined ? host.name : poolKeyId(entry.key),
        entry?.state === 'present' ? entry.value.pooled : 'missing',
      ]),
    );
    const writes = entries.map(({ entry }) => ({ entry: entry as PoolEntry, change: { pooled: 'no' } as const }));
    try {
      return { revision: await pool.writeAll(force ? { ...read, ranges: [] } : read, writes), before };
    } catch (error) {
      if (!isRolloutError(error, 'E_POOL_CONFLICT') || attempt >= DEPOOL_ATTEMPTS) throw error;
    }
  }
}

function checkWritable(
  host: InventoryHost,
  entry: PoolEntry | undefined,
  action: PoolArgs['action'],
  suffix: string,
): void {
  if (entry?.state === 'malformed')
    throw new RolloutError(
      'E_POOL_VALUE',
      `${host.name}: pool key holds an unreadable value (${entry.reason}); fix it with conftool or etcdctl first${suffix}`,
      { host: host.name },
    );
  if (entry?.state === 'missing' && action === 'depool')
    throw new RolloutError(
      'E_POOL_MISSING',
      `${host.name}: no pool key in etcd; \`rollout pool ${host.name}\` creates it${suffix}`,
      { host: host.name },
    );
}
