// `up`: start (or leave running) etcd, per-host sshd + nginx + PHP-FPM, HAProxy and the LB agents.
import fs from 'node:fs';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { paths, planFleet, inventoryYaml, SERVICE, HTTP_PORT } from './layout.mjs';
import { freePort, httpGet, livePid, run, spawnDaemon, tcpOpen, waitUntil, isAlive, sleep } from './procs.mjs';
import { BINARIES, ensurePackages } from './system.mjs';
import { writeFiles } from './files.mjs';
import { DEFAULT_DIR, REPO, REPO_INVENTORY, assertSandboxDir, loadState, readSandboxState, resolveDir, saveState } from './state.mjs';

const tail = (file, n = 8) => {
  try { return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n'); } catch { return '(no log)'; }
};

/** Start one daemon unless its pid file names a live process; wait until `ready()`; fail fast if it dies. */
async function ensureDaemon(what, { pidFile, match, logFile, command, args, ready, listen, timeoutMs = 15_000 }) {
  if (livePid(pidFile, match)) return false;
  // Why: readiness is "the port answers", so a port someone else holds would look like success.
  if (listen && await tcpOpen(listen.host, listen.port)) {
    throw new Error(`sandbox: cannot start ${what}: ${listen.host}:${listen.port} is already in use (another sandbox on the same --net?)`);
  }
  const pid = await spawnDaemon(command, args, { logFile, pidFile });
  await waitUntil(what, async () => {
    if (!isAlive(pid, match)) throw Object.assign(new Error(`${what} exited; see ${logFile}:\n${tail(logFile)}`), { fatal: true });
    return ready();
  }, { timeoutMs }).catch((error) => {
    throw new Error(`sandbox: ${what} did not start: ${error.message}\n${tail(logFile)}`);
  });
  return true;
}

async function newState(dir, options) {
  const fleet = planFleet(options);
  const [clientPort, peerPort, haproxyPort] = [await freePort(), await freePort(), await freePort()];
  return {
    version: 1,
    dir,
    createdAt: new Date().toISOString(),
    fleet,
    etcd: { clientPort, peerPort, endpoint: `http://127.0.0.1:${clientPort}` },
    haproxy: { port: haproxyPort },
  };
}

async function startEtcd(state) {
  const P = paths(state.dir);
  const { clientPort, peerPort, endpoint } = state.etcd;
  const peer = `http://127.0.0.1:${peerPort}`;
  return ensureDaemon('etcd', {
    pidFile: P.etcdPid, match: P.etcdData, logFile: P.etcdLog, command: BINARIES.etcd,
    args: ['--name', 'sandbox', '--data-dir', P.etcdData, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `sandbox=${peer}`,
      '--initial-cluster-state', 'new', '--log-outputs', 'stderr', '--logger', 'zap'],
    listen: { host: '127.0.0.1', port: clientPort },
    ready: async () => (await httpGet(`${endpoint}/health`)).body.includes('true'),
  });
}

async function startHost(state, host) {
  const hp = paths(state.dir).host(host.name);
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await ensureDaemon(`sshd of ${host.name}`, {
    pidFile: hp.sshdPid, match: hp.sshdConfig, logFile: hp.sshdLog, command: BINARIES.sshd,
    args: ['-D', '-e', '-f', hp.sshdConfig], listen: { host: host.address, port: host.sshPort }, ready: () => tcpOpen(host.address, host.sshPort),
  });
  await ensureDaemon(`nginx of ${host.name}`, {
    pidFile: hp.nginxPid, match: hp.nginxConf, logFile: hp.nginxOut, command: BINARIES.nginx,
    args: ['-p', `${hp.dir}/`, '-c', hp.nginxConf, '-e', hp.nginxLog], listen: { host: host.address, port: HTTP_PORT },
    ready: () => tcpOpen(host.address, HTTP_PORT),
  });
  const r = await run(hp.systemctl, ['start', 'php8.2-fpm'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`sandbox: PHP-FPM of ${host.name} did not start:\n${r.stderr}${r.stdout}`);
}

async function seedPool(state) {
  const client = new Etcd3({ hosts: state.etcd.endpoint, dialTimeout: 5000 });
  try {
    await Promise.all(state.fleet.hosts.map((h) => {
      const key = `/conftool/v1/pools/${h.dc}/${h.cluster}/${SERVICE}/${h.name}`;
      // Why: create-only, so `up` never overwrites a pool state someone changed.
      return client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify({ pooled: 'yes', weight: 10 }))).commit();
    }));
  } finally {
    client.close();
  }
}

async function startHaproxy(state) {
  const P = paths(state.dir);
  const check = await run(BINARIES.haproxy, ['-c', '-q', '-f', P.haproxyCfg]);
  if (check.code !== 0) throw new Error(`sandbox: ${P.haproxyCfg} is invalid:\n${check.stderr}${check.stdout}`);
  return ensureDaemon('haproxy', {
    pidFile: P.haproxyPid, match: P.haproxyCfg, logFile: P.haproxyLog, command: BINARIES.haproxy,
    args: ['-W', '-db', '-f', P.haproxyCfg, '-p', P.haproxyPid],
    listen: { host: '127.0.0.1', port: state.haproxy.port },
    ready: async () => fs.existsSync(P.haproxySock) && tcpOpen('127.0.0.1', state.haproxy.port),
  });
}

async function startAgents(state, log, cli) {
  const P = paths(state.dir);
  const help = await run(process.execPath, [cli, 'lb-agent', '--help'], { timeoutMs: 20_000 }).catch(() => ({ code: 1 }));
  if (help.code !== 0) {
    log('warning: `rollout lb-agent` is not available (build with `npm run build`); LB agents not started, HAProxy keeps every server enabled');
    return [];
  }
  const agents = [];
  for (const dc of state.fleet.dcs) {
    const args = [cli, 'lb-agent', '--dc', dc, '-i', P.inventory, '--haproxy-socket', P.haproxySock];
    if (!livePid(P.agentPid(dc), P.inventory)) {
      const pid = await spawnDaemon(process.execPath, args, { logFile: P.agentLog(dc), pidFile: P.agentPid(dc), cwd: REPO });
      await sleep(300);
      if (!isAlive(pid)) log(`warning: lb-agent for ${dc} exited at once; see ${P.agentLog(dc)}:\n${tail(P.agentLog(dc))}`);
    }
    agents.push({ dc, pidFile: P.agentPid(dc), logFile: P.agentLog(dc) });
  }
  return agents;
}

/**
 * Bring the sandbox up (idempotent). Options: dir, dcs, clusters, hostsPerCluster, net, sshBasePort,
 * release, agents (default true), install (default true), copyInventory (default: only for the default dir),
 * rolloutCli (the `rollout` entry that has `lb-agent`; default <repo>/bin/rollout.js), log.
 */
export async function sandboxUp(options = {}) {
  const log = options.log ?? (() => {});
  const dir = resolveDir(options.dir);
  // Why: unix socket paths are limited to 108 bytes and HAProxy appends ".<pid>.tmp" while binding.
  if (paths(dir).haproxySock.length > 90) throw new Error(`sandbox: state dir ${dir} is too long for a unix socket path; use a shorter --dir`);
  assertSandboxDir(dir);
  if (options.install !== false) await ensurePackages({ log });
  fs.mkdirSync(dir, { recursive: true });
  const existing = loadState(dir);
  const layout = { dcs: options.dcs, clusters: options.clusters, hostsPerCluster: options.hostsPerCluster, net: options.net,
    sshBasePort: options.sshBasePort, release: options.release };
  if (existing && Object.values(layout).some((v) => v !== undefined)) {
    const wanted = planFleet(layout);
    if (JSON.stringify(wanted.hosts) !== JSON.stringify(existing.fleet.hosts)) {
      log(`warning: ${dir} already holds a different fleet; keeping it (run \`down\` first to change the fleet)`);
    }
  }
  const state = existing ?? await newState(dir, layout);
  saveState(state);
  await writeFiles(state);
  await startEtcd(state);
  await seedPool(state);
  // Why: hosts start in parallel so a 12-host fleet is up in seconds.
  await Promise.all(state.fleet.hosts.map((h) => startHost(state, h)));
  await startHaproxy(state);
  const P = paths(dir);
  fs.writeFileSync(P.inventory, inventoryYaml(state.fleet, dir, state.etcd.endpoint));
  const copy = options.copyInventory ?? (dir === DEFAULT_DIR ? REPO_INVENTORY : undefined);
  if (copy) {
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(P.inventory, copy);
    state.inventoryCopy = path.resolve(copy);
  }
  state.agents = options.agents === false ? (state.agents ?? []) : await startAgents(state, log, options.rolloutCli ?? path.join(REPO, 'bin', 'rollout.js'));
  saveState(state);
  return readSandboxState(dir);
}
