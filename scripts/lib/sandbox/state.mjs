// state.json: the fleet layout and ports of one sandbox, and the view of it the API returns.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HTTP_PORT, etcdMembers, paths } from './layout.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEFAULT_DIR = path.join(REPO, '.sandbox');
export const REPO_INVENTORY = path.join(REPO, 'inventory', 'sandbox.yaml');

/** --dir, else $ROLLOUT_SANDBOX_DIR, else <repo>/.sandbox; always absolute. */
export function resolveDir(dir) {
  // Why: an empty value must not resolve to the working directory.
  return path.resolve(dir || process.env.ROLLOUT_SANDBOX_DIR || DEFAULT_DIR);
}

/** The entries a sandbox creates in its state dir; anything else means the dir is not (only) ours. */
export const OWN_ENTRIES = [
  'state.json',
  'state.json.tmp',
  'inventory.yaml',
  'haproxy.cfg',
  'run',
  'log',
  'ssh',
  'etcd',
  'etcd-members',
  'hosts',
  'alertmanager',
  'pushgateway',
];

/** Refuse a state dir that holds files the sandbox did not create (a mistyped --dir such as the repo). */
export function assertSandboxDir(dir) {
  if (!fs.existsSync(dir)) return;
  const foreign = fs.readdirSync(dir).filter((f) => !OWN_ENTRIES.includes(f));
  if (foreign.length > 0) {
    throw new Error(
      `sandbox: ${dir} is not a sandbox state dir (it holds ${foreign.slice(0, 3).join(', ')}); pick an empty or new --dir`,
    );
  }
}

export function loadState(dir) {
  try {
    return JSON.parse(fs.readFileSync(paths(dir).stateFile, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw new Error(`sandbox: cannot read ${paths(dir).stateFile}: ${error.message}`, { cause: error });
  }
}

export function saveState(state) {
  const file = paths(state.dir).stateFile;
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** The public description of a sandbox (what tests and the demo use); undefined when there is none. */
export function readSandboxState(dir) {
  const abs = resolveDir(dir);
  const state = loadState(abs);
  if (!state) return undefined;
  const P = paths(abs);
  return {
    dir: abs,
    inventoryFile: P.inventory,
    inventoryCopy: state.inventoryCopy ?? null,
    release: state.fleet.release,
    dcs: state.fleet.dcs,
    clusters: state.fleet.clusters,
    etcd: {
      endpoint: state.etcd.endpoint,
      clientPort: state.etcd.clientPort,
      peerPort: state.etcd.peerPort,
      pidFile: P.etcdPid,
      endpoints: etcdMembers(abs, state.fleet).map((m) => m.endpoint),
      members: etcdMembers(abs, state.fleet).map((m) => ({
        name: m.name,
        endpoint: m.endpoint,
        pidFile: m.pidFile,
        dataDir: m.dataDir,
      })),
    },
    haproxy: {
      url: `http://${state.haproxy.address}:${state.haproxy.port}`,
      port: state.haproxy.port,
      socket: P.haproxySock,
      config: P.haproxyCfg,
      pidFile: P.haproxyPid,
    },
    ssh: { user: 'root', identityFile: P.clientKey, knownHosts: P.knownHosts, config: P.sshConfig },
    hosts: state.fleet.hosts.map((h) => {
      const hp = P.host(h.name);
      return {
        name: h.name,
        dc: h.dc,
        cluster: h.cluster,
        address: h.address,
        sshPort: h.sshPort,
        httpUrl: `http://${h.address}:${HTTP_PORT}/`,
        backend: `${h.dc}_${h.cluster}`,
        dir: hp.dir,
        pidFiles: { sshd: hp.sshdPid, nginx: hp.nginxPid, phpFpm: hp.fpmPid },
      };
    }),
    agents: state.agents ?? [],
  };
}
