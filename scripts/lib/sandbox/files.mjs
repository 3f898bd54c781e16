// Writes every file of the sandbox (configs, keys, scripts, the app) into the state dir.
// Idempotent: keys and the deployed release are kept; configs are rewritten with the same content.
import fs from 'node:fs';
import { paths, HTTP_PORT } from './layout.mjs';
import { dualServers, dualUpstream, isDualMaster, writeDualMasterFiles } from './dual-master.mjs';
import { opcacheFillPhp, opcacheStatusPhp, releaseFilePhp, releasePhp } from './opcache.mjs';
import { ensureKey } from './system.mjs';
import {
  authorizedKeys,
  appPhp,
  fastcgiParams,
  fpmConfig,
  haproxyConfig,
  nginxConfig,
  sshClientConfig,
  sshdConfig,
} from './templates.mjs';
import { releaseScript, sessionWrapper, systemctlShim } from './shims.mjs';
import { badReleasePhp } from './bad-release.mjs';

const write = (file, text, mode = 0o644) => {
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
};

export async function writeHostFiles(state, host, clientPub) {
  const hp = paths(state.dir).host(host.name);
  for (const sub of ['bin', 'ssh', 'run', 'log', 'tmp', 'app', 'releases'])
    fs.mkdirSync(`${hp.dir}/${sub}`, { recursive: true });
  const hostPub = await ensureKey(hp.hostKey, `sandbox host key ${host.name}`);
  write(hp.sshdConfig, sshdConfig(host, hp));
  write(hp.authorizedKeys, authorizedKeys(hp, clientPub), 0o600);
  write(hp.fpmConf, fpmConfig(host, hp));
  write(
    hp.nginxConf,
    isDualMaster(state.fleet)
      ? nginxConfig(host, hp, { servers: dualServers(host, hp, HTTP_PORT), upstreams: dualUpstream(hp) })
      : nginxConfig(host, hp),
  );
  if (isDualMaster(state.fleet)) writeDualMasterFiles(host, hp, fpmConfig(host, hp), write);
  write(`${hp.app}/opcache-status.php`, opcacheStatusPhp());
  write(`${hp.app}/opcache-fill.php`, opcacheFillPhp());
  write(`${hp.app}/release-file.php`, releaseFilePhp());
  write(hp.fastcgiParams, fastcgiParams());
  write(`${hp.app}/index.php`, appPhp());
  write(`${hp.app}/bad-release.php`, badReleasePhp());
  write(hp.session, sessionWrapper(host, hp), 0o755);
  write(hp.release, releaseScript(host, hp), 0o755);
  write(hp.systemctl, systemctlShim(host, hp), 0o755);
  if (!fs.existsSync(hp.current)) {
    const id = state.fleet.release;
    fs.mkdirSync(`${hp.releases}/${id}`, { recursive: true });
    write(`${hp.releases}/${id}/RELEASE`, `${id}\n`);
    write(`${hp.releases}/${id}/release.php`, releasePhp(id));
    fs.symlinkSync(`releases/${id}`, hp.current);
  }
  return hostPub;
}

export async function writeFiles(state) {
  const P = paths(state.dir);
  for (const d of [P.run, P.log, P.sshDir, P.etcdData]) fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(P.sshDir, 0o700);
  const clientPub = await ensureKey(P.clientKey, 'rollout sandbox client');
  const knownHosts = [];
  for (const host of state.fleet.hosts) {
    const hostPub = await writeHostFiles(state, host, clientPub);
    const [type, key] = hostPub.split(/\s+/);
    const names = [`[${host.address}]:${host.sshPort}`, `[${host.name}]:${host.sshPort}`, host.name];
    knownHosts.push(`${names.join(',')} ${type} ${key}`);
  }
  write(P.knownHosts, `${knownHosts.join('\n')}\n`);
  write(P.sshConfig, sshClientConfig(state.fleet, P));
  write(P.haproxyCfg, haproxyConfig(state.fleet, P, state.haproxy));
}
