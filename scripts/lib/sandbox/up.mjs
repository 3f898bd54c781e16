// `up`: start (or leave running) etcd, per-host sshd + nginx + PHP-FPM, HAProxy and the LB agents.
import fs from 'node:fs';
import path from 'node:path';
import { URLSearchParams } from 'node:url';
import { Etcd3 } from 'etcd3';
import {
  etcdMembers,
  paths,
  planFleet,
  inventoryYaml,
  infraAddress,
  SERVICE,
  HTTP_PORT,
  ETCD_CLIENT_PORT,
  ETCD_PEER_PORT,
  LB_PORT,
} from './layout.mjs';
import {
  httpGet,
  identity,
  livePid,
  readPid,
  run,
  spawnDaemon,
  stopProcesses,
  tcpOpen,
  waitUntil,
  isAlive,
  sleep,
} from './procs.mjs';
import { BINARIES, ensurePackages } from './system.mjs';
import {
  ALERTMANAGER,
  alertmanagerArgs,
  PUSHGATEWAY,
  pushgatewayArgs,
  ALERTMANAGER_PORT,
  PUSHGATEWAY_PORT,
} from './prometheus.mjs';
import { writeFiles } from './files.mjs';
import { ownSandbox, reapOrphanOnNet, stopSandboxReaper } from './owner.mjs';
import { isDualMaster, slotPaths } from './dual-master.mjs';
import {
  DEFAULT_DIR,
  REPO,
  REPO_INVENTORY,
  assertSandboxDir,
  loadState,
  readSandboxState,
  resolveDir,
  saveState,
} from './state.mjs';

const tail = (file, n = 8) => {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
};

/**
 * Start one daemon unless its pid file names a live process; wait until `ready()`; fail fast if it dies.
 * What it starts is pushed onto `started` at once, so a failure later in `up` can stop it again.
 */
async function ensureDaemon(
  what,
  started,
  { pidFile, match, logFile, command, args, ready, listen, timeoutMs = 15_000 },
) {
  if (livePid(pidFile, match)) return false;
  // Why: readiness is "the port answers", so a port someone else holds would look like success.
  if (listen && (await tcpOpen(listen.host, listen.port))) {
    throw new Error(
      `sandbox: cannot start ${what}: ${listen.host}:${listen.port} is already in use (another sandbox on the same --net?)`,
    );
  }
  const pid = await spawnDaemon(command, args, { logFile, pidFile });
  started.push({ what, pid, match });
  await waitUntil(
    what,
    async () => {
      // Why: pid alone, our own child just spawned: twice the command-line check called a HAProxy that had loaded "exited".
      if (!isAlive(pid))
        throw Object.assign(new Error(`${what} exited; see ${logFile}:\n${tail(logFile)}`), { fatal: true });
      return ready();
    },
    { timeoutMs },
  ).catch((error) => {
    throw new Error(`sandbox: ${what} did not start: ${error.message}\n${tail(logFile)}`);
  });
  return true;
}

function newState(dir, options) {
  const fleet = planFleet(options);
  const address = infraAddress(fleet.net);
  return {
    version: 2,
    dir,
    createdAt: new Date().toISOString(),
    fleet,
    etcd: {
      address,
      clientPort: ETCD_CLIENT_PORT,
      peerPort: ETCD_PEER_PORT,
      endpoint: `http://${address}:${ETCD_CLIENT_PORT}`,
    },
    haproxy: { address, port: LB_PORT },
  };
}

/** Every etcd member at once: a cluster answers its health check only once a quorum is up. */
async function startEtcd(state, started) {
  const members = etcdMembers(state.dir, state.fleet);
  const cluster = members.map((m) => `${m.name}=${m.peer}`).join(',');
  await Promise.all(
    members.map((m) => {
      fs.mkdirSync(m.dataDir, { recursive: true, mode: 0o700 });
      return ensureDaemon(members.length === 1 ? 'etcd' : `etcd ${m.name}`, started, {
        pidFile: m.pidFile,
        match: m.dataDir,
        logFile: m.logFile,
        command: BINARIES.etcd,
        args: [
          '--name',
          m.name,
          '--data-dir',
          m.dataDir,
          '--listen-client-urls',
          m.endpoint,
          '--advertise-client-urls',
          m.endpoint,
          '--listen-peer-urls',
          m.peer,
          '--initial-advertise-peer-urls',
          m.peer,
          '--initial-cluster',
          cluster,
          '--initial-cluster-state',
          'new',
          '--log-outputs',
          'stderr',
          '--logger',
          'zap',
          ...(state.fleet.poolApi === 'v2' ? ['--enable-v2=true'] : []),
        ],
        listen: { host: m.address, port: ETCD_CLIENT_PORT },
        ready: async () => (await httpGet(`${m.endpoint}/health`)).body.includes('true'),
        timeoutMs: 30_000,
      });
    }),
  );
}

async function startHost(state, host, started) {
  const hp = paths(state.dir).host(host.name);
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await ensureDaemon(`sshd of ${host.name}`, started, {
    pidFile: hp.sshdPid,
    match: hp.sshdConfig,
    logFile: hp.sshdLog,
    command: BINARIES.sshd,
    args: ['-D', '-e', '-f', hp.sshdConfig],
    listen: { host: host.address, port: host.sshPort },
    ready: () => tcpOpen(host.address, host.sshPort),
  });
  await ensureDaemon(`nginx of ${host.name}`, started, {
    pidFile: hp.nginxPid,
    match: hp.nginxConf,
    logFile: hp.nginxOut,
    command: BINARIES.nginx,
    args: ['-p', `${hp.dir}/`, '-c', hp.nginxConf, '-e', hp.nginxLog],
    listen: { host: host.address, port: HTTP_PORT },
    ready: () => tcpOpen(host.address, HTTP_PORT),
  });
  const before = livePid(hp.fpmPid, hp.fpmConf);
  const r = await run(hp.systemctl, ['start', 'php8.2-fpm'], { timeoutMs: 30_000 });
  const fpm = readPid(hp.fpmPid);
  if (!before && fpm) started.push({ what: `PHP-FPM of ${host.name}`, pid: fpm, match: hp.fpmConf });
  if (r.code !== 0) throw new Error(`sandbox: PHP-FPM of ${host.name} did not start:\n${r.stderr}${r.stdout}`);
  if (isDualMaster(state.fleet)) await startSlotB(host, hp, started);
}

/** The second master of a dual-master host (the first is the host's usual one, started above). */
async function startSlotB(host, hp, started) {
  const b = slotPaths(hp).B;
  const before = livePid(b.pid, b.conf);
  const r = await run(slotPaths(hp).script, ['start', 'B'], { timeoutMs: 30_000 });
  const pid = readPid(b.pid);
  if (!before && pid) started.push({ what: `PHP-FPM B of ${host.name}`, pid, match: b.conf });
  if (r.code !== 0) throw new Error(`sandbox: PHP-FPM B of ${host.name} did not start:\n${r.stderr}${r.stdout}`);
}

/** conftool's create on v2 (prevExist=false): never overwrites a pool state someone changed. */
async function seedPoolV2(state) {
  const endpoint = etcdMembers(state.dir, state.fleet)[0].endpoint;
  await Promise.all(
    state.fleet.hosts.map(async (h) => {
      const key = `/conftool/v1/pools/${h.dc}/${h.cluster}/${SERVICE}/${h.name}`;
      const res = await fetch(`${endpoint}/v2/keys${key}`, {
        method: 'PUT',
        body: new URLSearchParams({ value: JSON.stringify({ pooled: 'yes', weight: 10 }), prevExist: 'false' }),
      });
      if (res.status !== 201 && res.status !== 412)
        throw new Error(`sandbox: seeding ${key} on etcd v2 failed: HTTP ${res.status} ${await res.text()}`);
    }),
  );
}

async function seedPool(state) {
  if (state.fleet.poolApi === 'v2') return seedPoolV2(state);
  const client = new Etcd3({ hosts: etcdMembers(state.dir, state.fleet).map((m) => m.endpoint), dialTimeout: 5000 });
  try {
    await Promise.all(
      state.fleet.hosts.map((h) => {
        const key = `/conftool/v1/pools/${h.dc}/${h.cluster}/${SERVICE}/${h.name}`;
        // Why: create-only, so `up` never overwrites a pool state someone changed.
        return client
          .if(key, 'Create', '==', 0)
          .then(client.put(key).value(JSON.stringify({ pooled: 'yes', weight: 10 })))
          .commit();
      }),
    );
  } finally {
    client.close();
  }
}

async function startHaproxy(state, started) {
  const P = paths(state.dir);
  const check = await run(BINARIES.haproxy, ['-c', '-q', '-f', P.haproxyCfg]);
  if (check.code !== 0) throw new Error(`sandbox: ${P.haproxyCfg} is invalid:\n${check.stderr}${check.stdout}`);
  return ensureDaemon('haproxy', started, {
    pidFile: P.haproxyPid,
    match: P.haproxyCfg,
    logFile: P.haproxyLog,
    command: BINARIES.haproxy,
    args: ['-W', '-db', '-f', P.haproxyCfg, '-p', P.haproxyPid],
    listen: { host: state.haproxy.address, port: state.haproxy.port },
    ready: async () => fs.existsSync(P.haproxySock) && tcpOpen(state.haproxy.address, state.haproxy.port),
  });
}

/** `--alertmanager`, `--pushgateway`: Debian's daemons on <net>.2, data in the state dir. */
async function startPrometheusParts(state, started) {
  const P = paths(state.dir);
  const address = infraAddress(state.fleet.net);
  const parts = [
    state.fleet.alertmanager && {
      what: 'alertmanager',
      binary: ALERTMANAGER,
      dir: P.alertmanagerDir,
      pidFile: P.alertmanagerPid,
      logFile: P.alertmanagerLog,
      port: ALERTMANAGER_PORT,
      args: alertmanagerArgs(P.alertmanagerDir, address),
    },
    state.fleet.pushgateway && {
      what: 'pushgateway',
      binary: PUSHGATEWAY,
      dir: P.pushgatewayDir,
      pidFile: P.pushgatewayPid,
      logFile: P.pushgatewayLog,
      port: PUSHGATEWAY_PORT,
      args: pushgatewayArgs(P.pushgatewayDir, address),
    },
  ].filter(Boolean);
  for (const part of parts)
    await ensureDaemon(part.what, started, {
      pidFile: part.pidFile,
      match: part.args[0],
      logFile: part.logFile,
      command: part.binary,
      args: part.args,
      listen: { host: address, port: part.port },
      ready: async () =>
        (await httpGet(`http://${address}:${part.port}/-/ready`).catch(() => ({ status: 0 }))).status === 200,
    });
}

async function startAgents(state, log, cli, started) {
  const P = paths(state.dir);
  const help = await run(process.execPath, [cli, 'lb-agent', '--help'], { timeoutMs: 20_000 }).catch(() => ({
    code: 1,
  }));
  if (help.code !== 0) {
    log(
      'warning: `rollout lb-agent` is not available (build with `npm run build`); LB agents not started, HAProxy keeps every server enabled',
    );
    return [];
  }
  const agents = [];
  for (const dc of state.fleet.dcs) {
    const args = [cli, 'lb-agent', '--dc', dc, '-i', P.inventory, '--haproxy-socket', P.haproxySock];
    if (!livePid(P.agentPid(dc), P.inventory)) {
      const pid = await spawnDaemon(process.execPath, args, {
        logFile: P.agentLog(dc),
        pidFile: P.agentPid(dc),
        cwd: REPO,
      });
      started.push({ what: `lb-agent ${dc}`, pid, match: P.inventory });
      await sleep(300);
      if (!isAlive(pid))
        log(`warning: lb-agent for ${dc} exited at once; see ${P.agentLog(dc)}:\n${tail(P.agentLog(dc))}`);
    }
    agents.push({ dc, pidFile: P.agentPid(dc), logFile: P.agentLog(dc) });
  }
  return agents;
}

/**
 * Only one `up` at a time on a state dir: two would start two of every daemon on one set of files.
 * The lock names its holder by pid and start time, so a lock left by a killed `up` is taken over.
 */
function lockDir(dir) {
  const file = path.join(paths(dir).run, 'up.lock');
  fs.mkdirSync(paths(dir).run, { recursive: true });
  const me = identity(process.pid);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      fs.writeFileSync(file, `${me}\n`, { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const holder = fs.readFileSync(file, 'utf8').trim();
      const pid = Number.parseInt(holder, 10);
      if (holder && identity(pid) === holder)
        throw new Error(`sandbox: another \`up\` (pid ${pid}) is starting ${dir}; wait for it or run \`down\``, {
          cause: error,
        });
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`sandbox: cannot lock ${dir} (${file} keeps changing)`);
}

/** Start etcd, the hosts, HAProxy and the agents; everything started is pushed onto `started`. */
async function startAll(state, options, log, started) {
  const dir = state.dir;
  await writeFiles(state);
  await startEtcd(state, started);
  await seedPool(state);
  // Why: hosts start in parallel so a 12-host fleet is up in seconds; allSettled, so no start is still
  // in flight when a failure stops what was started.
  const hosts = await Promise.allSettled(state.fleet.hosts.map((h) => startHost(state, h, started)));
  const failed = hosts.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  await startHaproxy(state, started);
  await startPrometheusParts(state, started);
  const P = paths(dir);
  fs.writeFileSync(
    P.inventory,
    inventoryYaml(
      state.fleet,
      dir,
      etcdMembers(dir, state.fleet).map((m) => m.endpoint),
    ),
  );
  const copy = options.copyInventory ?? (dir === DEFAULT_DIR ? REPO_INVENTORY : undefined);
  if (copy) {
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(P.inventory, copy);
    state.inventoryCopy = path.resolve(copy);
  }
  state.agents =
    options.agents === false
      ? (state.agents ?? [])
      : await startAgents(state, log, options.rolloutCli ?? path.join(REPO, 'bin', 'rollout.js'), started);
}

/** Stop what this `up` started, agents first and etcd last (as `down` does), by pid and start time. */
async function stopStarted(started) {
  const order = (s) => (s.what.startsWith('lb-agent') ? 0 : s.what.startsWith('etcd') ? 2 : 1);
  for (const rank of [0, 1, 2]) await stopProcesses(started.filter((s) => order(s) === rank));
}

/**
 * Bring the sandbox up (idempotent). Options: dir, dcs, clusters, hostsPerCluster, net, sshBasePort,
 * release, agents (default true), install (default true), copyInventory (default: only for the default dir),
 * rolloutCli (the `rollout` entry that has `lb-agent`; default <repo>/bin/rollout.js), log, diesWith (a pid:
 * the sandbox is stopped once that process is gone; null: never; default this process under vitest, else none).
 * A start that fails half-way stops everything this call started before it throws; the logs stay.
 */
export async function sandboxUp(options = {}) {
  const log = options.log ?? (() => {});
  const dir = resolveDir(options.dir);
  // Why: unix socket paths are limited to 108 bytes and HAProxy appends ".<pid>.tmp" while binding.
  if (paths(dir).haproxySock.length > 90)
    throw new Error(`sandbox: state dir ${dir} is too long for a unix socket path; use a shorter --dir`);
  assertSandboxDir(dir);
  if (options.install !== false) await ensurePackages({ log });
  fs.mkdirSync(dir, { recursive: true });
  const unlock = lockDir(dir);
  const started = [];
  let owned = false;
  try {
    const existing = loadState(dir);
    if (existing && existing.version !== 2)
      throw new Error(`sandbox: ${dir} was made by an older scripts/sandbox; run \`scripts/sandbox down\` first`);
    const layout = {
      dcs: options.dcs,
      clusters: options.clusters,
      hostsPerCluster: options.hostsPerCluster,
      net: options.net,
      sshBasePort: options.sshBasePort,
      release: options.release,
      etcdMembers: options.etcdMembers,
      poolApi: options.poolApi,
      strategy: options.strategy,
      alertmanager: options.alertmanager,
      pushgateway: options.pushgateway,
    };
    if (existing && Object.values(layout).some((v) => v !== undefined)) {
      const wanted = planFleet(layout);
      if (JSON.stringify(wanted.hosts) !== JSON.stringify(existing.fleet.hosts)) {
        log(`warning: ${dir} already holds a different fleet; keeping it (run \`down\` first to change the fleet)`);
      }
    }
    const state = existing ?? newState(dir, layout);
    saveState(state);
    const orphan = await reapOrphanOnNet(state.fleet.net, dir);
    if (orphan && orphan.pids.length > 0)
      log(`stopped ${orphan.pids.length} processes a dead run's sandbox left on ${state.fleet.net}.x (${orphan.dir})`);
    // Why: a test's sandbox dies with the test run, even on SIGKILL; `scripts/sandbox up` (no owner) stays up.
    const owner = 'diesWith' in options ? options.diesWith : process.env.VITEST ? process.pid : undefined;
    if (typeof owner === 'number') {
      await ownSandbox(dir, state.fleet.net, owner);
      owned = true;
    }
    await startAll(state, options, log, started);
    saveState(state);
    return readSandboxState(dir);
  } catch (error) {
    await stopStarted(started);
    // Why: what this `up` started is stopped; a reaper it started would be the one process left.
    if (owned) await stopSandboxReaper(dir);
    if (started.length > 0)
      log(
        `start failed; stopped the ${started.length} processes this \`up\` had started (logs kept in ${paths(dir).log})`,
      );
    throw error;
  } finally {
    unlock();
  }
}
