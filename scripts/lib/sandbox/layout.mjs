// The sandbox fleet layout (pure): which hosts exist, their names, addresses and ports, where
// their files live, and the inventory YAML that describes them.
import path from 'node:path';
import { DUAL_MASTER, dualRestartLine, isDualMaster } from './dual-master.mjs';
import { ALERTMANAGER_PORT, PUSHGATEWAY_PORT } from './prometheus.mjs';

export const DEFAULT_FLEET = Object.freeze({
  dcs: ['eqiad', 'codfw'],
  clusters: ['appserver', 'api_appserver'],
  hostsPerCluster: 3,
  net: '127.0.0',
  sshBasePort: 2200,
  release: 'initial',
  etcdMembers: 1,
  // Why: v2 is conftool's and PyBal's API; the sandbox then serves it and keeps the pool keys there.
  poolApi: 'v3',
  strategy: 'rolling',
  // Why: optional real parts of the ops stack (docs/sandbox.md): Prometheus Alertmanager and Pushgateway on <net>.2.
  alertmanager: false,
  pushgateway: false,
});

export const HTTP_PORT = 8080;
export const FPM_PORT = 9000;
export const SERVICE = 'php-fpm';
// Why: etcd and HAProxy listen on the sandbox's own net (<net>.2) at fixed ports, below the kernel's
// ephemeral range: a port picked free and bound later can be taken meanwhile by any outgoing connection.
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const LB_PORT = 8080;
/** The address of the sandbox's own services (etcd, HAProxy): `<net>.2`. */
export const infraAddress = (net) => `${net}.2`;

/**
 * The etcd members: the first is `sandbox` on <net>.2 (data in <state>/etcd); with more, member k
 * is `sandbox<k>` on <net>.(k+1), data in <state>/etcd-members/sandbox<k>. Hosts start at .11.
 */
export function etcdMembers(dir, fleet) {
  const P = paths(dir);
  return Array.from({ length: fleet.etcdMembers ?? 1 }, (_, i) => {
    const name = i === 0 ? 'sandbox' : `sandbox${i + 1}`;
    const address = `${fleet.net}.${2 + i}`;
    return {
      name,
      address,
      endpoint: `http://${address}:${ETCD_CLIENT_PORT}`,
      peer: `http://${address}:${ETCD_PEER_PORT}`,
      dataDir: i === 0 ? P.etcdData : path.join(dir, 'etcd-members', name),
      pidFile: i === 0 ? P.etcdPid : path.join(P.run, `etcd-${name}.pid`),
      logFile: i === 0 ? P.etcdLog : path.join(P.log, `etcd-${name}.log`),
    };
  });
}

/**
 * Host k (1-based, numbered across the whole fleet) is `mw<k>.<dc>.sandbox` on `<net>.<10+k>`,
 * its sshd on port sshBasePort+k.
 */
export function planFleet(options = {}) {
  const fleet = { ...DEFAULT_FLEET, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(fleet.net)) {
    throw new Error(
      `sandbox: --net must be the first three octets of a loopback address like 127.0.0, got "${fleet.net}"`,
    );
  }
  if (!/^[A-Za-z0-9._-]+$/.test(fleet.release)) throw new Error(`sandbox: bad release id "${fleet.release}"`);
  if (fleet.poolApi !== 'v3' && fleet.poolApi !== 'v2')
    throw new Error(`sandbox: --pool-api must be v3 or v2, got "${fleet.poolApi}"`);
  if (!['rolling', DUAL_MASTER].includes(fleet.strategy))
    throw new Error(`sandbox: --strategy must be rolling or ${DUAL_MASTER}, got "${fleet.strategy}"`);
  if (!Number.isInteger(fleet.etcdMembers) || fleet.etcdMembers < 1 || fleet.etcdMembers > 5) {
    throw new Error(`sandbox: --etcd-members must be 1 to 5, got "${fleet.etcdMembers}"`);
  }
  const count = fleet.dcs.length * fleet.clusters.length * fleet.hostsPerCluster;
  if (count < 1 || count > 240) throw new Error(`sandbox: the fleet must have 1..240 hosts, got ${count}`);
  for (const name of [...fleet.dcs, ...fleet.clusters]) {
    if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new Error(`sandbox: bad datacenter or cluster name "${name}"`);
  }
  const hosts = [];
  let k = 0;
  for (const dc of fleet.dcs) {
    for (const cluster of fleet.clusters) {
      for (let i = 0; i < fleet.hostsPerCluster; i += 1) {
        k += 1;
        hosts.push({
          index: k,
          name: `mw${k}.${dc}.sandbox`,
          dc,
          cluster,
          address: `${fleet.net}.${10 + k}`,
          sshPort: fleet.sshBasePort + k,
          httpPort: HTTP_PORT,
          fpmPort: FPM_PORT,
        });
      }
    }
  }
  return { ...fleet, hosts };
}

/** Every path the sandbox uses, from the state dir. */
export function paths(dir) {
  const p = (...parts) => path.join(dir, ...parts);
  return {
    dir,
    stateFile: p('state.json'),
    inventory: p('inventory.yaml'),
    run: p('run'),
    log: p('log'),
    etcdData: p('etcd'),
    etcdPid: p('run', 'etcd.pid'),
    etcdLog: p('log', 'etcd.log'),
    haproxyCfg: p('haproxy.cfg'),
    haproxySock: p('run', 'haproxy.sock'),
    haproxyPid: p('run', 'haproxy.pid'),
    haproxyLog: p('log', 'haproxy.log'),
    sshDir: p('ssh'),
    clientKey: p('ssh', 'id_ed25519'),
    knownHosts: p('ssh', 'known_hosts'),
    sshConfig: p('ssh', 'config'),
    agentPid: (dc) => p('run', `lb-agent-${dc}.pid`),
    agentLog: (dc) => p('log', `lb-agent-${dc}.log`),
    alertmanagerDir: p('alertmanager'),
    alertmanagerPid: p('run', 'alertmanager.pid'),
    alertmanagerLog: p('log', 'alertmanager.log'),
    pushgatewayDir: p('pushgateway'),
    pushgatewayPid: p('run', 'pushgateway.pid'),
    pushgatewayLog: p('log', 'pushgateway.log'),
    host: (name) => hostPaths(p('hosts', name)),
  };
}

export function hostPaths(h) {
  const p = (...parts) => path.join(h, ...parts);
  return {
    dir: h,
    bin: p('bin'),
    systemctl: p('bin', 'systemctl'),
    release: p('bin', 'sandbox-release'),
    session: p('bin', 'ssh-session'),
    sshdConfig: p('ssh', 'sshd_config'),
    hostKey: p('ssh', 'ssh_host_ed25519_key'),
    authorizedKeys: p('ssh', 'authorized_keys'),
    sshdPid: p('run', 'sshd.pid'),
    sshdLog: p('log', 'sshd.log'),
    fpmConf: p('php-fpm.conf'),
    fpmPid: p('run', 'php-fpm.pid'),
    fpmLog: p('log', 'php-fpm.log'),
    nginxConf: p('nginx.conf'),
    fastcgiParams: p('fastcgi_params'),
    nginxPid: p('run', 'nginx.pid'),
    nginxLog: p('log', 'nginx-error.log'),
    nginxOut: p('log', 'nginx.out'),
    tmp: p('tmp'),
    app: p('app'),
    releases: p('releases'),
    current: p('current'),
  };
}

const q = (s) => JSON.stringify(s);

/** The inventory YAML (format of the project's inventory loader) for the fleet in `dir`. */
export function inventoryYaml(fleet, dir, etcdEndpoints) {
  const P = paths(dir);
  const lines = [
    '# Written by scripts/sandbox up: the local loopback fleet. Regenerated on every `up`.',
    'etcd:',
    `  endpoints: [${etcdEndpoints.map(q).join(', ')}]`,
    '  prefix: /conftool/v1/pools',
    '  dialTimeout: 5',
    ...(fleet.poolApi === 'v2' ? ['  poolApi: v2'] : []),
    'run:',
    '  failureBudget: 0',
    '  capacityWait: 30',
    'defaults:',
    `  service: ${SERVICE}`,
    '  weight: 10',
    '  batch: { size: 1 }',
    '  minPooled: 50%',
    '  failureBudget: 0',
    `  ssh: { user: root, identityFile: ${q(P.clientKey)}, knownHosts: ${q(P.knownHosts)}, connectTimeout: 5 }`,
    // Why: opcache.url without a threshold only serves --if-opcache-above; a plain sync restarts every host.
    `${(isDualMaster(fleet) ? dualRestartLine() : '  restart: { command: "systemctl restart php8.2-fpm", emergencyCommand: "systemctl kill-restart php8.2-fpm", timeout: 30 }').slice(0, -2)}, opcache: { url: "http://{address}:${HTTP_PORT}/opcache-status" } }`,
    `  drain: { mode: status, statusUrl: "http://{address}:${HTTP_PORT}/fpm-status?json", timeout: 15, interval: 1 }`,
    `  health: { type: http, url: "http://{address}:${HTTP_PORT}/", expectStatus: 200, releaseHeader: X-Release, attempts: 10, interval: 1, timeout: 15, requestTimeout: 2 }`,
    '  lb: { propagationSeconds: 1, confirmTimeout: 10 }',
    ...(fleet.alertmanager
      ? ['alerts:', `  alertmanager: { urls: ["http://${infraAddress(fleet.net)}:${ALERTMANAGER_PORT}"], ttl: 10m }`]
      : []),
    ...(fleet.pushgateway
      ? ['metrics:', `  pushgateway: "http://${infraAddress(fleet.net)}:${PUSHGATEWAY_PORT}"`]
      : []),
    'datacenters:',
  ];
  for (const dc of fleet.dcs) {
    lines.push(`  ${dc}:`, '    clusters:');
    for (const cluster of fleet.clusters) {
      lines.push(`      ${cluster}:`, '        hosts:');
      for (const h of fleet.hosts.filter((x) => x.dc === dc && x.cluster === cluster)) {
        lines.push(`          - { name: ${h.name}, address: ${h.address}, port: ${h.sshPort} }`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** HAProxy backend name of a datacenter + cluster. */
export const backendName = (dc, cluster) => `${dc}_${cluster}`;
