// `down`, `status` and the fault-injection helpers (release, break-fpm, stop-sshd, …).
import fs from 'node:fs';
import path from 'node:path';
import { etcdMembers, hostPaths, paths, HTTP_PORT } from './layout.mjs';
import { fpmConfig, brokenFpmConfig } from './templates.mjs';
import {
  findProcesses,
  isAlive,
  livePid,
  readPid,
  run,
  spawnDaemon,
  stopProcesses,
  tcpOpen,
  waitUntil,
} from './procs.mjs';
import { BINARIES } from './system.mjs';
import { ALERTMANAGER, ALERTMANAGER_PORT, PUSHGATEWAY, PUSHGATEWAY_PORT } from './prometheus.mjs';
import { assertSandboxDir, loadState, resolveDir } from './state.mjs';
import { slotComponents } from './dual-master.mjs';
import { stopSandboxReaper } from './owner.mjs';

/** Hosts from state.json, or (half-started sandbox without one) from the hosts/ directories. */
function hostDirs(dir, state) {
  if (state) return state.fleet.hosts.map((h) => ({ name: h.name, hp: paths(dir).host(h.name), host: h }));
  const root = path.join(dir, 'hosts');
  const names = fs.existsSync(root) ? fs.readdirSync(root) : [];
  return names.map((name) => ({ name, hp: hostPaths(path.join(root, name)), host: undefined }));
}

/** Every component of the sandbox: { component, host?, pidFile, match, address } */
function components(dir, state) {
  const P = paths(dir);
  const list = [];
  const agentFiles = fs.existsSync(P.run) ? fs.readdirSync(P.run).filter((f) => /^lb-agent-.+\.pid$/.test(f)) : [];
  for (const f of agentFiles) {
    list.push({
      component: `lb-agent ${f.slice(9, -4)}`,
      pidFile: path.join(P.run, f),
      match: P.inventory,
      exe: process.execPath,
      address: P.haproxySock,
    });
  }
  list.push({
    component: 'haproxy',
    pidFile: P.haproxyPid,
    match: P.haproxyCfg,
    exe: BINARIES.haproxy,
    address: state ? `${state.haproxy.address}:${state.haproxy.port} (runtime API ${P.haproxySock})` : '',
  });
  for (const [component, exe, port] of [
    ['alertmanager', ALERTMANAGER, ALERTMANAGER_PORT],
    ['pushgateway', PUSHGATEWAY, PUSHGATEWAY_PORT],
  ]) {
    // Why: only when asked for at `up` (or its pid file is there), so `status` of a plain sandbox lists no dead part.
    if (!state?.fleet[component] && !fs.existsSync(P[`${component}Pid`])) continue;
    list.push({
      component,
      pidFile: P[`${component}Pid`],
      // Why: the whole first argument of the command line up.mjs started (src: scripts/lib/sandbox/prometheus.mjs).
      match:
        component === 'alertmanager'
          ? `--config.file=${path.join(P.alertmanagerDir, 'alertmanager.yml')}`
          : `--web.listen-address=${state?.haproxy.address ?? ''}:${port}`,
      exe,
      address: state ? `http://${state.haproxy.address}:${port}` : '',
    });
  }
  for (const { name, hp, host } of hostDirs(dir, state)) {
    list.push({
      component: 'sshd',
      host: name,
      pidFile: hp.sshdPid,
      match: hp.sshdConfig,
      exe: BINARIES.sshd,
      address: host ? `${host.address}:${host.sshPort}` : '',
    });
    list.push({
      component: 'nginx',
      host: name,
      pidFile: hp.nginxPid,
      match: hp.nginxConf,
      exe: BINARIES.nginx,
      address: host ? `${host.address}:${HTTP_PORT}` : '',
    });
    list.push({
      component: 'php-fpm',
      host: name,
      pidFile: hp.fpmPid,
      match: hp.fpmConf,
      exe: BINARIES.phpFpm,
      address: host ? `${host.address}:9000` : '',
    });
    list.push(...slotComponents(name, hp, host, BINARIES.phpFpm));
  }
  const members = state
    ? etcdMembers(dir, state.fleet)
    : [{ name: 'sandbox', pidFile: P.etcdPid, dataDir: P.etcdData, endpoint: '' }];
  // Why: without state.json, extra members are still found by their pid files.
  if (!state && fs.existsSync(P.run)) {
    for (const f of fs.readdirSync(P.run).filter((x) => /^etcd-.+\.pid$/.test(x))) {
      const name = f.slice(5, -4);
      members.push({ name, pidFile: path.join(P.run, f), dataDir: path.join(dir, 'etcd-members', name), endpoint: '' });
    }
  }
  for (const m of members)
    list.push({
      component: 'etcd',
      host: m.name === 'sandbox' ? undefined : m.name,
      pidFile: m.pidFile,
      match: m.dataDir,
      exe: BINARIES.etcd,
      address: m.endpoint,
    });
  return list;
}

/** Each component with its pid and whether it is alive. */
export function sandboxStatus(options = {}) {
  const dir = resolveDir(options.dir);
  const state = loadState(dir);
  return components(dir, state).map((c) => {
    const pid = readPid(c.pidFile);
    return {
      component: c.component,
      host: c.host ?? null,
      pid: pid ?? null,
      alive: Boolean(pid && isAlive(pid, c.match)),
      address: c.address,
    };
  });
}

/**
 * Stop exactly the processes the sandbox started (from their pid files; dead or missing ones are
 * skipped), then remove the state dir unless `keep`. Returns the pids that were signalled.
 */
export async function sandboxDown(options = {}) {
  const dir = resolveDir(options.dir);
  const state = loadState(dir);
  await stopSandboxReaper(dir);
  // Why: pid files first; then the same binary running the same config file, in case a pid file was lost.
  const entries = components(dir, state).flatMap((c) => {
    const pids = new Set([readPid(c.pidFile), ...findProcesses(c.exe, c.match)].filter(Boolean));
    return [...pids].map((pid) => ({ ...c, pid }));
  });
  const phase = (pred) => stopProcesses(entries.filter(pred));
  // Why: agents before HAProxy and etcd, etcd last, so nothing logs errors about a vanished peer.
  const stopped = [
    ...(await phase((c) => c.component.startsWith('lb-agent'))),
    ...(await phase((c) => !c.component.startsWith('lb-agent') && c.component !== 'etcd')),
    ...(await phase((c) => c.component === 'etcd')),
  ];
  if (state?.inventoryCopy && fs.existsSync(state.inventoryCopy)) fs.rmSync(state.inventoryCopy, { force: true });
  if (!options.keep && fs.existsSync(dir)) {
    // Why: never rm -rf a directory holding anything the sandbox did not create (a mistyped --dir).
    assertSandboxDir(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return stopped;
}

export function findHost(dir, which) {
  const state = loadState(dir);
  if (!state) throw new Error(`sandbox: no sandbox in ${dir}; run \`scripts/sandbox up\` first`);
  const host = state.fleet.hosts.find((h) => h.name === which || h.address === which || h.name.split('.')[0] === which);
  if (!host)
    throw new Error(`sandbox: no host "${which}" in ${dir}; hosts: ${state.fleet.hosts.map((h) => h.name).join(', ')}`);
  return { state, host, hp: paths(dir).host(host.name) };
}

/** Deploy release `id` on the given hosts (all when none): served after their next PHP-FPM restart. */
export async function sandboxRelease(id, hostNames = [], options = {}) {
  const dir = resolveDir(options.dir);
  const state = loadState(dir);
  if (!state) throw new Error(`sandbox: no sandbox in ${dir}; run \`scripts/sandbox up\` first`);
  const names = hostNames.length > 0 ? hostNames : state.fleet.hosts.map((h) => h.name);
  for (const name of names) {
    const { hp, host } = findHost(dir, name);
    const r = await run(hp.release, [id]);
    if (r.code !== 0) throw new Error(`sandbox: release ${id} on ${host.name} failed: ${r.stderr.trim()}`);
  }
  return names;
}

/** Write a PHP-FPM config that fails to load: the host's next (re)start fails. */
export function breakFpm(which, options = {}) {
  const { host, hp } = findHost(resolveDir(options.dir), which);
  fs.writeFileSync(hp.fpmConf, brokenFpmConfig(host, hp));
  return host.name;
}

export function fixFpm(which, options = {}) {
  const { host, hp } = findHost(resolveDir(options.dir), which);
  fs.writeFileSync(hp.fpmConf, fpmConfig(host, hp));
  return host.name;
}

export async function stopSshd(which, options = {}) {
  const { host, hp } = findHost(resolveDir(options.dir), which);
  const pid = readPid(hp.sshdPid);
  await stopProcesses(pid ? [{ pid, match: hp.sshdConfig }] : []);
  return host.name;
}

export async function startSshd(which, options = {}) {
  const { host, hp } = findHost(resolveDir(options.dir), which);
  if (livePid(hp.sshdPid, hp.sshdConfig)) return host.name;
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await spawnDaemon(BINARIES.sshd, ['-D', '-e', '-f', hp.sshdConfig], { logFile: hp.sshdLog, pidFile: hp.sshdPid });
  await waitUntil(`sshd of ${host.name}`, () => tcpOpen(host.address, host.sshPort));
  return host.name;
}
