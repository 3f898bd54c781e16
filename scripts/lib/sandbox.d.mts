export interface SandboxHost {
  name: string;
  dc: string;
  cluster: string;
  address: string;
  sshPort: number;
  httpUrl: string;
  /** HAProxy backend `<dc>_<cluster>`; the server in it is named exactly `name`. */
  backend: string;
  dir: string;
  pidFiles: { sshd: string; nginx: string; phpFpm: string };
}
export interface SandboxState {
  dir: string;
  inventoryFile: string;
  inventoryCopy: string | null;
  release: string;
  dcs: string[];
  clusters: string[];
  /** endpoint and pidFile: the first member's; endpoints and members: every member (--etcd-members). */
  etcd: {
    endpoint: string;
    endpoints: string[];
    clientPort: number;
    peerPort: number;
    pidFile: string;
    members: { name: string; endpoint: string; pidFile: string; dataDir: string }[];
  };
  haproxy: { url: string; port: number; socket: string; config: string; pidFile: string };
  ssh: { user: string; identityFile: string; knownHosts: string; config: string };
  hosts: SandboxHost[];
  agents: { dc: string; pidFile: string; logFile: string }[];
}
export interface SandboxUpOptions {
  dir?: string;
  dcs?: string[];
  clusters?: string[];
  hostsPerCluster?: number;
  /** First three octets of the host addresses (default 127.0.0 → hosts on 127.0.0.11, .12, …). */
  net?: string;
  sshBasePort?: number;
  release?: string;
  /** etcd members (default 1); more than one form a cluster on <net>.2, .3, … */
  etcdMembers?: number;
  /** Where the pool keys live (default v3); v2 starts etcd with --enable-v2=true and writes `etcd.poolApi: v2`. */
  poolApi?: 'v3' | 'v2';
  /** `dual-master`: two PHP-FPM masters per host and nginx switching between them (docs/sandbox.md). Default rolling. */
  strategy?: 'rolling' | 'dual-master';
  /** Start Debian's Prometheus Alertmanager on <net>.2:9093 and write `alerts:` into the inventory. */
  alertmanager?: boolean;
  /** Start Debian's Prometheus Pushgateway on <net>.2:9091 and write `metrics.pushgateway` into the inventory. */
  pushgateway?: boolean;
  /** Start one `rollout lb-agent` per datacenter when the built CLI has it (default true). */
  agents?: boolean;
  /** The `rollout` entry script whose `lb-agent` subcommand is started (default <repo>/bin/rollout.js). */
  rolloutCli?: string;
  /** Install missing Debian packages with apt-get (default true). */
  install?: boolean;
  /** Where to copy inventory.yaml (default: inventory/sandbox.yaml, only for the default state dir). */
  copyInventory?: string;
  /** Stop the sandbox once this process is gone, even on its SIGKILL; null: never (default: this process under vitest, else never). */
  diesWith?: number | null;
  log?: (message: string) => void;
}
export interface SandboxComponent {
  component: string;
  host: string | null;
  pid: number | null;
  alive: boolean;
  address: string;
}
export interface DirOption {
  dir?: string;
}
export const DEFAULT_DIR: string;
export const DEFAULT_FLEET: Readonly<{
  dcs: string[];
  clusters: string[];
  hostsPerCluster: number;
  net: string;
  sshBasePort: number;
  release: string;
  etcdMembers: number;
  poolApi: 'v3' | 'v2';
  strategy: string;
}>;
export function sandboxUp(options?: SandboxUpOptions): Promise<SandboxState>;
/** Stops what the sandbox started (by pid file), removes the dir unless keep; resolves the signalled pids. */
export function sandboxDown(options?: DirOption & { keep?: boolean }): Promise<number[]>;
export function sandboxStatus(options?: DirOption): SandboxComponent[];
export function readSandboxState(dir?: string): SandboxState | undefined;
export function resolveDir(dir?: string): string;
export function sandboxRelease(id: string, hosts?: string[], options?: DirOption): Promise<string[]>;
export function breakFpm(host: string, options?: DirOption): string;
export function fixFpm(host: string, options?: DirOption): string;
export function stopSshd(host: string, options?: DirOption): Promise<string>;
export function startSshd(host: string, options?: DirOption): Promise<string>;
/** Compiles throw-away files on the host's active master until its opcache is `percent` full. */
export function fillOpcache(
  host: string,
  percent: number,
  options?: DirOption,
): Promise<{ host: string; files: number; percent: number }>;
export function backendName(dc: string, cluster: string): string;
export function planFleet(options?: Partial<typeof DEFAULT_FLEET>): unknown;
/** A free TCP port on a loopback address, 127.0.0.1 by default. */
export function freePort(host?: string): Promise<number>;
/** Live processes (not this one) whose command line mentions `text`. */
export function processesMentioning(text: string): number[];
/** The command line of a live process ('' once it is gone). */
export function cmdline(pid: number): string;
/** SIGTERM, then SIGKILL after graceMs, each process and its descendants, by pid and start time. */
export function stopProcesses(
  entries: { pid: number; match?: string }[],
  options?: { graceMs?: number },
): Promise<number[]>;
/**
 * Starts a detached reaper for the server group `dir`: once `owner` (default: this process; pid and
 * start time) is gone, it stops every process naming `dir` (command line or environment) and their descendants.
 */
export function startReaper(
  dir: string,
  options?: { owner?: number; removeDir?: boolean },
): { pid: number; stop(): Promise<void> };
/** Stops every process of the group `dir` now (SIGTERM, then SIGKILL); returns their pids. */
export function reapGroup(dir: string, options?: { graceMs?: number; except?: number[] }): Promise<number[]>;
/** Live processes naming `dir` in their command line or environment, and their descendants. */
export function processesOf(dir: string, except?: number[]): number[];
