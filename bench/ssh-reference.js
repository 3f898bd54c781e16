// The sandbox's `ssh … true` against a bare sshd on the same machine: the cost of OpenSSH itself,
// so the sandbox is shown to measure rollout, not the machine's shell start-up files.
//   bare sshd, rc files skipped: SetEnv SHLVL=1 (bash then reads no ~/.bashrc), no forced command;
//   bare sshd, rc files read:    what every command paid before, for comparison.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureKey } from '../scripts/lib/sandbox/system.mjs';
import { tcpOpen, waitUntil } from '../scripts/lib/sandbox/procs.mjs';
import { median, msSince } from './stats.js';

const exec = promisify(execFile);

function bareConfig(dir, address, port, skipRc) {
  return `Port ${port}
ListenAddress ${address}
HostKey ${dir}/host_key
PidFile ${dir}/sshd.pid
AuthorizedKeysFile ${dir}/authorized_keys
StrictModes no
UsePAM no
UseDNS no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PrintMotd no
PrintLastLog no
${skipRc ? 'SetEnv SHLVL=1\n' : ''}`;
}

/** A bare sshd on `address:port`, our child; `stop()` ends it and removes its files. */
async function bareSshd(sandbox, address, port, skipRc) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-bare-sshd-'));
  await ensureKey(path.join(dir, 'host_key'), 'bench bare sshd');
  fs.copyFileSync(`${sandbox.ssh.identityFile}.pub`, path.join(dir, 'authorized_keys'));
  fs.writeFileSync(path.join(dir, 'sshd_config'), bareConfig(dir, address, port, skipRc));
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(`bare sshd on ${address}:${port}`, () => tcpOpen(address, port));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    stop,
    args: [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-i',
      sandbox.ssh.identityFile,
      '-p',
      String(port),
      `root@${address}`,
    ],
  };
}

/** Median wall time of `runs` sequential `ssh <args> true` (after one warm-up). */
async function sshTrue(args, runs) {
  await exec('ssh', [...args, 'true'], { timeout: 30_000 });
  const times = [];
  for (let i = 0; i < runs; i += 1) {
    const start = process.hrtime.bigint();
    await exec('ssh', [...args, 'true'], { timeout: 30_000 });
    times.push(msSince(start));
  }
  return median(times);
}

/** `ssh true` to a sandbox host, to a bare sshd that skips the rc files, and to one that reads them. */
export async function benchSshReference({ sandbox, runs = 15, log }) {
  const host = sandbox.hosts[0];
  // Why: <net>.3 is free in every sandbox (hosts start at .11, etcd and HAProxy sit on .2).
  const address = host.address.replace(/\.\d+$/, '.3');
  const sandboxMs = await sshTrue(['-F', sandbox.ssh.config, host.name], runs);
  const skip = await bareSshd(sandbox, address, 2222, true);
  let bareMs;
  try {
    bareMs = await sshTrue(skip.args, runs);
  } finally {
    await skip.stop();
  }
  const rc = await bareSshd(sandbox, address, 2223, false);
  let rcMs;
  try {
    rcMs = await sshTrue(rc.args, runs);
  } finally {
    await rc.stop();
  }
  log?.(
    `ssh true: sandbox ${sandboxMs.toFixed(0)} ms, bare sshd ${bareMs.toFixed(0)} ms (rc files read: ${rcMs.toFixed(0)} ms)`,
  );
  return { runs, sandboxMs, bareMs, bareWithRcMs: rcMs, ratio: sandboxMs / bareMs };
}
