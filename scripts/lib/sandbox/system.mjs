// Host prerequisites: the Debian packages of the real servers, and ssh-keygen keys.
import fs from 'node:fs';
import { run } from './procs.mjs';

export const PACKAGES = [
  'etcd-server',
  'openssh-server',
  'openssh-client',
  'php8.2-fpm',
  'php8.2-cli',
  'haproxy',
  'nginx-light',
  'wrk',
  'socat',
  'prometheus-alertmanager',
  'prometheus-pushgateway',
];
export const BINARIES = {
  etcd: '/usr/bin/etcd',
  sshd: '/usr/sbin/sshd',
  ssh: '/usr/bin/ssh',
  sshKeygen: '/usr/bin/ssh-keygen',
  phpFpm: '/usr/sbin/php-fpm8.2',
  php: '/usr/bin/php8.2',
  haproxy: '/usr/sbin/haproxy',
  nginx: '/usr/sbin/nginx',
  wrk: '/usr/bin/wrk',
  socat: '/usr/bin/socat',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  pushgateway: '/usr/bin/prometheus-pushgateway',
};

const executable = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Install the missing Debian packages with apt-get (policy-rc.d keeps their services from starting). */
export async function ensurePackages({ log = () => {} } = {}) {
  const missing = Object.values(BINARIES).filter((b) => !executable(b));
  if (missing.length === 0) return false;
  const root = process.getuid?.() === 0;
  if (!root && !executable('/usr/bin/sudo')) {
    throw new Error(
      `sandbox: missing ${missing.join(', ')}; run as root or install sudo, or: apt-get install ${PACKAGES.join(' ')}`,
    );
  }
  const sudo = (cmd, args, opts) => (root ? run(cmd, args, opts) : run('/usr/bin/sudo', ['-n', cmd, ...args], opts));
  log(`installing Debian packages (missing ${missing.join(', ')}): ${PACKAGES.join(' ')}`);
  // Why: Debian maintainer scripts would otherwise start etcd, sshd, nginx, haproxy and php-fpm as services.
  const createdPolicy = !fs.existsSync('/usr/sbin/policy-rc.d');
  if (createdPolicy) {
    await sudo('/bin/sh', [
      '-c',
      "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
    ]);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    sudo('/usr/bin/apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], {
      env,
      timeoutMs: 900_000,
    });
  try {
    let result = await install();
    if (result.code !== 0) {
      await sudo('/usr/bin/apt-get', ['update', '-qq'], { env, timeoutMs: 600_000 });
      result = await install();
    }
    if (result.code !== 0) throw new Error(`sandbox: apt-get install failed:\n${result.stderr.slice(-2000)}`);
  } finally {
    if (createdPolicy) await sudo('/bin/rm', ['-f', '/usr/sbin/policy-rc.d']);
  }
  const still = Object.values(BINARIES).filter((b) => !executable(b));
  if (still.length > 0) throw new Error(`sandbox: still missing after apt-get install: ${still.join(', ')}`);
  return true;
}

/** Generate an ed25519 key pair at `file` unless it exists; returns the public key line. */
export async function ensureKey(file, comment) {
  if (!fs.existsSync(file) || !fs.existsSync(`${file}.pub`)) {
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    const r = await run(BINARIES.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    if (r.code !== 0) throw new Error(`sandbox: ssh-keygen failed for ${file}: ${r.stderr.trim()}`);
  }
  fs.chmodSync(file, 0o600);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}
