// Built-in defaults: what a setting is when no level of the inventory sets it (docs/inventory.md).
import type { ClusterSettings, EtcdSettings, HostSettings, RunSettings } from './types.js';

/** Never root: a dedicated account allowed by sudoers to restart PHP-FPM (docs/production.md). */
export const DEFAULT_SSH_USER = 'deploy';

/** Expanded against the operator's home directory by load.ts. */
export const DEFAULT_KNOWN_HOSTS = '~/.ssh/known_hosts';

export const DEFAULT_HEALTH_URL = 'http://{address}/';

export const DEFAULT_HOST_SETTINGS: HostSettings = {
  service: 'php-fpm',
  weight: 10,
  ssh: {
    user: DEFAULT_SSH_USER,
    port: 22,
    identityFile: undefined,
    knownHosts: DEFAULT_KNOWN_HOSTS,
    jumpHost: undefined,
    connectTimeoutSeconds: 10,
    acceptNewHostKeys: false,
  },
  // emergencyCommand falls back to the merged `command`, not to this default (see resolve.ts).
  restart: {
    command: 'systemctl restart php8.2-fpm',
    emergencyCommand: 'systemctl restart php8.2-fpm',
    timeoutSeconds: 60,
  },
  drain: {
    mode: 'fixed',
    seconds: 5,
    timeoutSeconds: 30,
    statusUrl: undefined,
    statusCommand: undefined,
    intervalSeconds: 1,
  },
  health: {
    type: 'http',
    url: DEFAULT_HEALTH_URL,
    command: undefined,
    expectStatus: 200,
    expectBody: undefined,
    releaseHeader: undefined,
    releaseField: undefined,
    attempts: 5,
    intervalSeconds: 2,
    timeoutSeconds: 30,
    requestTimeoutSeconds: 5,
    minHealthySeconds: 0,
  },
  lb: { propagationSeconds: 3, confirmTimeoutSeconds: 30, requireAgents: false, confirm: 'agents' },
};

export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = {
  batchSize: [{ kind: 'percent', value: 10 }],
  batchMode: 'window',
  minPooled: { kind: 'percent', value: 50 },
  failureBudget: { kind: 'count', value: 0 },
};

export const DEFAULT_ETCD: EtcdSettings = {
  endpoints: ['http://127.0.0.1:2379'],
  prefix: '/conftool/v1/pools',
  ca: undefined,
  cert: undefined,
  key: undefined,
  username: undefined,
  passwordEnv: undefined,
  dialTimeoutSeconds: 5,
  poolApi: 'v3',
};

export const DEFAULT_RUN: RunSettings = {
  failureBudget: 0,
  parallelClusters: 5,
  sshConcurrency: 64,
  capacityWaitSeconds: 60,
};
