/** The resolved inventory: every setting already merged (defaults → datacenter → cluster → host). */

/** A count (`3`) or a percentage (`"10%"`). */
export type Amount =
  { readonly kind: 'count'; readonly value: number } | { readonly kind: 'percent'; readonly value: number };

/** Where a value came from in the inventory file, for error messages. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface SshSettings {
  readonly user: string;
  readonly port: number;
  readonly identityFile: string | undefined;
  readonly knownHosts: string;
  /** `user@host:port` or `host`, like OpenSSH's ProxyJump. */
  readonly jumpHost: string | undefined;
  readonly connectTimeoutSeconds: number;
  /** Off by default: accept and record keys of hosts not yet in known_hosts (never a changed key). */
  readonly acceptNewHostKeys: boolean;
}

export interface RestartSettings {
  /** Template; placeholders: {host} {address} {service} {dc} {cluster} {release}. */
  readonly command: string;
  readonly emergencyCommand: string;
  readonly timeoutSeconds: number;
  /** `rolling`: depool, drain, restart, repool; `dual-master`: restart the dormant master and switch (no pool write). */
  /** Absent means `rolling`. */
  readonly strategy?: 'rolling' | 'dual-master';
  /** Set when strategy is dual-master (validated so). */
  readonly dualMaster?: DualMasterSettings;
  /** Default of --if-opcache-above: where the opcache figures come from and the threshold. */
  readonly opcache?: OpcacheSettings;
}

/** One of the two PHP-FPM masters of a dual-master host. */
export type Slot = 'A' | 'B';

/** The pieces of the two-master swap (docs/inventory.md, `restart.dualMaster`); commands may name {slot}. */
export interface DualMasterSettings {
  /** Prints the dormant slot, A or B. */
  readonly dormantCommand: string;
  readonly restartCommand: string;
  readonly emergencyRestartCommand: string;
  /** Points the web server at {slot} with a graceful reload. */
  readonly switchCommand: string;
  /** PHP-FPM status JSON of each master, read directly (not through the public URL). */
  readonly statusUrl: Readonly<Record<Slot, string>>;
  /** Health URL of each master, read directly. */
  readonly healthUrl: Readonly<Record<Slot, string>>;
  /** The JSON field of a health response that names the master serving it (its pid). */
  readonly masterField: string;
  /** How long the dormant master may take to finish its previous term's requests. */
  readonly idleTimeoutSeconds: number;
}

/** Where a host's opcache_get_status() figures come from, and the restart threshold. */
export interface OpcacheSettings {
  readonly url: string | undefined;
  readonly command: string | undefined;
  /** Restart only hosts above this (percent) unless --release; undefined: only with --if-opcache-above. */
  readonly thresholdPercent: number | undefined;
}

export interface DrainSettings {
  /** `status`: poll PHP-FPM's status page until no active request but the probe; `fixed`: wait `seconds`. */
  readonly mode: 'status' | 'fixed';
  readonly seconds: number;
  readonly timeoutSeconds: number;
  /** Template of the PHP-FPM status URL (JSON output), read from the orchestrator. */
  readonly statusUrl: string | undefined;
  /** Alternative to statusUrl: a command over SSH that prints the status JSON. */
  readonly statusCommand: string | undefined;
  readonly intervalSeconds: number;
}

export interface HealthSettings {
  readonly type: 'http' | 'command';
  /** Template, for `http`. */
  readonly url: string | undefined;
  /** Template, for `command`: run over SSH, healthy on exit 0. */
  readonly command: string | undefined;
  readonly expectStatus: number;
  readonly expectBody: string | undefined;
  /** With --release: the response header that carries the release id... */
  readonly releaseHeader: string | undefined;
  /** ...or the top-level JSON body field that carries it. */
  readonly releaseField: string | undefined;
  readonly attempts: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly requestTimeoutSeconds: number;
  readonly minHealthySeconds: number;
}

export interface LbSettings {
  /** With no LB agent registered for the datacenter: how long to wait for the LB to follow. */
  readonly propagationSeconds: number;
  /** How long registered agents get to confirm a depool (or a repool) before the host fails (fail closed). */
  readonly confirmTimeoutSeconds: number;
  /** No agent registered for the datacenter fails the batch closed instead of waiting propagationSeconds. */
  readonly requireAgents: boolean;
  /** Who confirms: rollout's LB agents (default), PyBal's instrumentation API, or nobody (the fixed wait). */
  readonly confirm: 'agents' | 'pybal' | 'none';
  /** With confirm: pybal. */
  readonly pybal?: PybalSettings | undefined;
}

/** The PyBals (LVS) of a datacenter, polled on their instrumentation API (docs/lb-agent.md "PyBal"). */
export interface PybalSettings {
  /** `http://lvs1001:9090`, one per PyBal; every one must confirm. */
  readonly urls: readonly string[];
  /** The PyBal pool of a conftool service, a template: `{service}` (default), `{cluster}_{service}`... */
  readonly service: string;
}

/** Settings every host carries after merging. */
export interface HostSettings {
  /** The first of `services`: what {service} means in templates. */
  readonly service: string;
  /** Every pool (conftool service) the host is in, one pool key each; absent: just `service` (see hostServices). */
  readonly services?: readonly string[];
  readonly weight: number;
  readonly ssh: SshSettings;
  readonly restart: RestartSettings;
  readonly drain: DrainSettings;
  readonly health: HealthSettings;
  readonly lb: LbSettings;
}

/** Every pool the host is in: `services`, or its one `service`. */
export function hostServices(settings: Pick<HostSettings, 'service' | 'services'>): readonly string[] {
  return settings.services !== undefined && settings.services.length > 0 ? settings.services : [settings.service];
}

/** Settings that only make sense for a whole cluster. */
export interface ClusterSettings {
  /** Ramp: entry i sizes batch i, the last entry repeats. Never empty. */
  readonly batchSize: readonly Amount[];
  /** `window` (default): a new host starts as soon as a slot frees; `barrier`: each batch waits for its slowest host. */
  readonly batchMode?: BatchMode | undefined;
  /** A fraction of the cluster's non-inactive hosts that must stay pooled. */
  readonly minPooled: Amount;
  readonly failureBudget: Amount;
  /** A first batch that must pass a gate on real error rates before the rest (src/orchestrator/guards/canary-gate.ts). */
  readonly canary?: CanarySettings | undefined;
}

/** How a cluster's hosts are dispatched (docs/inventory.md `batch.mode`). */
export type BatchMode = 'window' | 'barrier';

/** `canary:` of a cluster (docs/inventory.md). */
export interface CanarySettings {
  /** The first batch: this many hosts, or exactly these hosts. */
  readonly batch:
    { readonly kind: 'count'; readonly value: number } | { readonly kind: 'hosts'; readonly hosts: readonly string[] };
  /** After the canaries are repooled: how long they serve live traffic before the gate looks. */
  readonly soakSeconds: number;
  readonly gate: CanaryGateSettings;
}

/** Any of the three may be set; every one set must say go. */
export interface CanaryGateSettings {
  readonly haproxyStats: HaproxyStatsGate | undefined;
  /** Template run on the rollout machine: exit 0 = go. Placeholders {dc} {cluster} {release} {hosts} {since} {seconds}. */
  readonly command: string | undefined;
  /** Template; HTTP 200 = go. */
  readonly url: string | undefined;
  readonly timeoutSeconds: number;
}

export interface HaproxyStatsGate {
  /** The runtime API's socket, or the stats page's CSV URL (`…/stats;csv`). */
  readonly socket: string | undefined;
  readonly url: string | undefined;
  /** Template; {dc} {cluster}. */
  readonly backend: string;
  /** The most 5xx share of responses the canaries, and the backend, may show over the soak. */
  readonly maxErrorRatio: number;
  /** The most the canaries' 5xx share may rise over the backend's before the run. */
  readonly maxIncrease: number;
  /** Fewer canary responses than this over the soak: too little traffic to judge, the gate fails. */
  readonly minRequests: number;
}

/** One setting whose template names {release}: which one, and where it was written (src/inventory/release-uses.ts). */
export interface ReleaseUse {
  /** `health.url`, `restart.command`, `restart.dualMaster.healthUrl`, `canary.gate.url`… */
  readonly setting: string;
  /** `file:line:col: key.path` of the value as written. */
  readonly at: string;
}

export interface InventoryHost {
  readonly name: string;
  /** Where to connect (SSH, HTTP); defaults to the name. */
  readonly address: string;
  readonly dc: string;
  readonly cluster: string;
  readonly settings: HostSettings;
  readonly source: SourceLocation;
  /** Settings whose template names {release}, where they were written (src/inventory/release-uses.ts). */
  readonly releaseUses?: readonly ReleaseUse[];
}

export interface InventoryCluster {
  readonly dc: string;
  readonly name: string;
  readonly settings: ClusterSettings;
  /** In natural order (mw2 before mw10). */
  readonly hosts: readonly InventoryHost[];
  readonly source: SourceLocation;
  /** The canary gate's templates that name {release}. */
  readonly releaseUses?: readonly ReleaseUse[];
}

export interface InventoryDatacenter {
  readonly name: string;
  readonly clusters: readonly InventoryCluster[];
}

export interface EtcdSettings {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  /** Paths; TLS is used when `ca` is set or an endpoint is https. */
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly username: string | undefined;
  /** Name of the environment variable holding the password (never the password itself). */
  readonly passwordEnv: string | undefined;
  readonly dialTimeoutSeconds: number;
  /** Which etcd API holds conftool's pool keys: v3, or v2 (what conftool and PyBal use). rollout's own keys are always v3. */
  readonly poolApi: 'v3' | 'v2';
}

export interface RunSettings {
  /** Total failed hosts across all clusters before the rollout stops starting batches. */
  readonly failureBudget: number;
  readonly parallelClusters: number;
  readonly sshConcurrency: number;
  readonly capacityWaitSeconds: number;
  /** The fleet-wide cap of hosts restarting at once (an etcd semaphore); undefined: no cap. */
  readonly maxConcurrentRestarts?: number | undefined;
  /** What the cap is shared by; datacenter-service unless told. */
  readonly restartSlotScope?: 'datacenter-service' | 'datacenter-cluster' | 'service';
  /** `run.deadline` (a duration like 45m): past it nothing new starts and the run ends as on abort. */
  readonly deadline?: { readonly ms: number; readonly text: string } | undefined;
  /** `run.pace` (a duration): the least time between two dispatches in a cluster. */
  readonly pace?: { readonly ms: number; readonly text: string } | undefined;
  /** `run.askOnFailure`: ask retry/skip/abort on a terminal when a host fails; undefined: yes on a terminal. */
  readonly askOnFailure?: boolean | undefined;
}

/** `alerts:` (docs/inventory.md): a silence per host in flight in Prometheus Alertmanager. */
export interface AlertsSettings {
  /** True (default): a host whose silence Alertmanager does not take fails untouched (E_ALERTS); false: a warning. */
  readonly required: boolean;
  readonly alertmanager: {
    readonly urls: readonly string[];
    /** `name=~"value"` templates; placeholders {host} {address} {port} {service} {dc} {cluster} {release}. */
    readonly matchers: readonly string[];
    readonly ttlSeconds: number;
    /** Template; the matchers' placeholders plus {runId} {user} {machine} {command} {reason}. */
    readonly comment: string;
    readonly ca: string | undefined;
    /** Name of the environment variable holding a bearer token. */
    readonly bearerTokenEnv: string | undefined;
    readonly timeoutSeconds: number;
  };
}

/** Events a notify sink may choose (docs/events.md, "Hook documents"). */
export const NOTIFY_EVENTS = [
  'run.started',
  'run.finished',
  'run.failed',
  'cluster.finished',
  'canary.verdict',
  'budget.tripped',
  'run.paused',
  'run.resumed',
  'run.aborted',
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

interface SinkCommon {
  /** `notify[2]`, for messages. */
  readonly name: string;
  readonly events: readonly NotifyEventName[];
  readonly timeoutSeconds: number;
  /** Attempts after the first one fails. */
  readonly retries: number;
}

/** One `notify:` entry. */
export type NotifySink =
  | (SinkCommon & {
      readonly kind: 'webhook';
      readonly url: string;
      /** Header name → name of the environment variable holding its value. */
      readonly headersEnv: Readonly<Record<string, string>>;
      /** Adds a Slack/Mattermost-compatible `text` field. */
      readonly text: boolean;
      readonly ca: string | undefined;
    })
  | (SinkCommon & { readonly kind: 'command'; readonly command: string });

/** `metrics:`: where a run's metrics go at its end. */
export interface MetricsSettings {
  /** node_exporter's textfile collector directory: rollout.prom is written there. */
  readonly textfile: string | undefined;
  /** A Prometheus Pushgateway's base URL. */
  readonly pushgateway: string | undefined;
  readonly timeoutSeconds: number;
}

export interface Inventory {
  /** Absolute path of the file it was read from. */
  readonly file: string;
  readonly etcd: EtcdSettings;
  readonly run: RunSettings;
  readonly datacenters: readonly InventoryDatacenter[];
  readonly alerts?: AlertsSettings | undefined;
  readonly notify?: readonly NotifySink[] | undefined;
  readonly metrics?: MetricsSettings | undefined;
}

/** Every host of the inventory, in file order of datacenters and clusters. */
export function allHosts(inventory: Inventory): InventoryHost[] {
  return inventory.datacenters.flatMap((dc) => dc.clusters.flatMap((c) => [...c.hosts]));
}

export function allClusters(inventory: Inventory): InventoryCluster[] {
  return inventory.datacenters.flatMap((dc) => [...dc.clusters]);
}
