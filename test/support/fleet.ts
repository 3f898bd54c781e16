/**
 * Test builder for resolved inventories and the pool state that goes with them:
 *
 *   const { inventory, snapshot } = fleet()
 *     .cluster('appserver', 8, { dc: 'eqiad', pooled: 6, inactive: 1, batch: '25%', minPooled: '50%' })
 *     .build();
 *
 * Hosts are named `mw<dc digit><nnn>` (mw1001…; the first datacenter added is 1, the next 2),
 * numbered on across the clusters of a datacenter so every name is unique. Their states are
 * assigned in this order: `yes`, then `no`, `inactive`, `missing`, `malformed`
 * (use `states` to place them yourself).
 */
import type {
  Amount,
  ClusterSettings,
  HostSettings,
  Inventory,
  InventoryCluster,
  InventoryHost,
} from '../../src/inventory/types.js';
import { poolKeyId } from '../../src/pool/types.js';
import type { PoolEntry, PoolKey, PoolSnapshot } from '../../src/pool/types.js';

/** What a host looks like in the snapshot: a conftool `pooled` value, no key, or an unreadable one. */
export type HostState = 'yes' | 'no' | 'inactive' | 'missing' | 'malformed';

/** A count (`3`) or a percentage (`'10%'`), as written in the inventory. */
export type AmountLike = number | `${number}%`;

/** Per-section partial HostSettings: `{ drain: { mode: 'fixed' } }` keeps the other drain fields. */
export type HostSettingsOverrides = {
  readonly [K in keyof HostSettings]?: HostSettings[K] extends object ? Partial<HostSettings[K]> : HostSettings[K];
};

export interface FleetClusterOptions {
  /** Default `eqiad`. */
  readonly dc?: string;
  /** `yes` hosts; default every host not given another state. */
  readonly pooled?: number;
  /** `no` hosts (depooled by someone else); default what `pooled` leaves over. */
  readonly depooled?: number;
  readonly inactive?: number;
  /** Hosts with no pool key in etcd. */
  readonly missing?: number;
  /** Hosts whose pool key holds unreadable JSON. */
  readonly malformed?: number;
  /** One state per host, in order: replaces the counts above. */
  readonly states?: readonly HostState[];
  /** Host names, already in natural order as the loader returns them; default mw1001…. */
  readonly names?: readonly string[];
  /** batch.size: one amount or a ramp; default `'10%'`. */
  readonly batch?: AmountLike | readonly AmountLike[];
  /** Default `'50%'`. */
  readonly minPooled?: AmountLike;
  /** Default `1`. */
  readonly failureBudget?: AmountLike;
  /** Merged over hostSettings() for every host of the cluster. */
  readonly settings?: HostSettingsOverrides;
}

export interface Fleet {
  /** Adds a cluster of `size` hosts (datacenters and clusters keep the order they are added in). */
  cluster(name: string, size: number, options?: FleetClusterOptions): Fleet;
  build(): { inventory: Inventory; snapshot: PoolSnapshot };
}

const FILE = '/etc/rollout/inventory.yaml';

const DEFAULT_HOST_SETTINGS: HostSettings = {
  service: 'php-fpm',
  weight: 10,
  ssh: {
    user: 'rollout',
    port: 22,
    identityFile: '/etc/rollout/ssh/id_ed25519',
    knownHosts: '/etc/rollout/ssh/known_hosts',
    jumpHost: undefined,
    connectTimeoutSeconds: 5,
    acceptNewHostKeys: false,
  },
  restart: {
    command: 'systemctl restart php8.2-fpm',
    emergencyCommand: 'systemctl kill-restart php8.2-fpm',
    timeoutSeconds: 30,
  },
  drain: {
    mode: 'status',
    seconds: 5,
    timeoutSeconds: 15,
    statusUrl: 'http://{address}:8080/fpm-status?json',
    statusCommand: undefined,
    intervalSeconds: 1,
  },
  health: {
    type: 'http',
    url: 'http://{address}:8080/',
    command: undefined,
    expectStatus: 200,
    expectBody: undefined,
    releaseHeader: 'X-Release',
    releaseField: undefined,
    attempts: 10,
    intervalSeconds: 1,
    timeoutSeconds: 15,
    requestTimeoutSeconds: 2,
    minHealthySeconds: 0,
  },
  lb: { propagationSeconds: 1, confirmTimeoutSeconds: 10, requireAgents: false, confirm: 'agents' },
};

/** Realistic resolved HostSettings (like the sandbox inventory), with per-section overrides. */
export function hostSettings(overrides: HostSettingsOverrides = {}): HostSettings {
  const d = DEFAULT_HOST_SETTINGS;
  return {
    service: overrides.service ?? d.service,
    weight: overrides.weight ?? d.weight,
    ssh: { ...d.ssh, ...overrides.ssh },
    restart: { ...d.restart, ...overrides.restart },
    drain: { ...d.drain, ...overrides.drain },
    health: { ...d.health, ...overrides.health },
    lb: { ...d.lb, ...overrides.lb },
  };
}

/** ClusterSettings: batch 10%, minPooled 50%, failureBudget 1, unless overridden. */
export function clusterSettings(overrides: Partial<ClusterSettings> = {}): ClusterSettings {
  return {
    batchSize: overrides.batchSize ?? [amount('10%')],
    minPooled: overrides.minPooled ?? amount('50%'),
    failureBudget: overrides.failureBudget ?? amount(1),
  };
}

/** `'25%'` → `{ kind: 'percent', value: 25 }`, `3` → `{ kind: 'count', value: 3 }`. */
export function amount(value: AmountLike): Amount {
  return typeof value === 'number' ? { kind: 'count', value } : { kind: 'percent', value: Number(value.slice(0, -1)) };
}

/** The pool key of an inventory host, as the planner and the orchestrator compute it. */
export function poolKeyOfHost(host: InventoryHost): PoolKey {
  return { dc: host.dc, cluster: host.cluster, service: host.settings.service, host: host.name };
}

/** Starts an empty fleet. */
export function fleet(): Fleet {
  const added: { name: string; size: number; options: FleetClusterOptions }[] = [];
  const builder: Fleet = {
    cluster(name, size, options = {}) {
      added.push({ name, size, options });
      return builder;
    },
    build: () => buildFleet(added),
  };
  return builder;
}

function buildFleet(added: readonly { name: string; size: number; options: FleetClusterOptions }[]): {
  inventory: Inventory;
  snapshot: PoolSnapshot;
} {
  const dcNames = [...new Set(added.map((c) => c.options.dc ?? 'eqiad'))];
  const nextNumber = new Map(dcNames.map((dc, i) => [dc, (i + 1) * 1000 + 1]));
  const snapshot = new Map<string, PoolEntry>();
  let line = 1;
  const clusters = added.map(({ name, size, options }): InventoryCluster => {
    const dc = options.dc ?? 'eqiad';
    const states = statesFor(name, size, options);
    if (options.names !== undefined && options.names.length !== size)
      throw new Error(`fleet: ${name}: ${options.names.length} names for ${size} hosts`);
    const settings = hostSettings(options.settings);
    const clusterLine = line++;
    const hosts = states.map((state, i): InventoryHost => {
      const number = nextNumber.get(dc) ?? 1;
      nextNumber.set(dc, number + 1);
      const host: InventoryHost = {
        name: options.names?.[i] ?? `mw${number}`,
        address: options.names?.[i] ?? `mw${number}`,
        dc,
        cluster: name,
        settings,
        source: { file: FILE, line: line++, col: 9 },
      };
      const key = poolKeyOfHost(host);
      snapshot.set(poolKeyId(key), entryFor(key, state, settings.weight, snapshot.size + 1));
      return host;
    });
    const batch = options.batch ?? '10%';
    const cs = clusterSettings({
      batchSize: (Array.isArray(batch) ? batch : [batch]).map((b: AmountLike) => amount(b)),
      minPooled: amount(options.minPooled ?? '50%'),
      failureBudget: amount(options.failureBudget ?? 1),
    });
    return { dc, name, settings: cs, hosts, source: { file: FILE, line: clusterLine, col: 7 } };
  });
  const datacenters = dcNames.map((dc) => ({ name: dc, clusters: clusters.filter((c) => c.dc === dc) }));
  const inventory: Inventory = {
    file: FILE,
    etcd: {
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/conftool/v1/pools',
      ca: undefined,
      cert: undefined,
      key: undefined,
      username: undefined,
      passwordEnv: undefined,
      dialTimeoutSeconds: 5,
      poolApi: 'v3',
    },
    run: { failureBudget: 1, parallelClusters: 1, sshConcurrency: 10, capacityWaitSeconds: 30 },
    datacenters,
  };
  return { inventory, snapshot };
}

function statesFor(cluster: string, size: number, o: FleetClusterOptions): HostState[] {
  if (o.states !== undefined) {
    if (o.states.length !== size) throw new Error(`fleet: ${cluster}: ${o.states.length} states for ${size} hosts`);
    return [...o.states];
  }
  const others = (o.inactive ?? 0) + (o.missing ?? 0) + (o.malformed ?? 0);
  const yes = o.pooled ?? size - others - (o.depooled ?? 0);
  const no = o.depooled ?? size - others - yes;
  if (yes < 0 || no < 0 || yes + no + others !== size)
    throw new Error(`fleet: ${cluster}: states do not add up to ${size} hosts`);
  const repeat = (state: HostState, n: number): HostState[] => Array.from({ length: n }, () => state);
  return [
    ...repeat('yes', yes),
    ...repeat('no', no),
    ...repeat('inactive', o.inactive ?? 0),
    ...repeat('missing', o.missing ?? 0),
    ...repeat('malformed', o.malformed ?? 0),
  ];
}

function entryFor(key: PoolKey, state: HostState, weight: number, modRevision: number): PoolEntry {
  if (state === 'missing') return { key, state: 'missing' };
  if (state === 'malformed') {
    return {
      key,
      state: 'malformed',
      raw: '{"pooled":"maybe"}',
      reason: 'pooled: expected "yes", "no" or "inactive", got "maybe"',
      modRevision,
    };
  }
  return { key, state: 'present', value: { pooled: state, weight }, modRevision };
}
