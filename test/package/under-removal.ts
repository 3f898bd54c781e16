/**
 * The worst an upgrade can do to a running run: every file of the package goes away under it. A
 * `rollout sync` from the installed package (real etcd, a real sshd as the one host) is caught
 * during its LB wait, with the host depooled and SSH not yet used; the package is removed, the run
 * must still restart, check and repool the host. Then the package is installed again.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connect, seed, valueOf } from '../cli/cli.js';
import { tempDir } from '../support/tmp.js';
import { startEtcd } from '../support/etcd.js';
import { NETS } from '../support/nets.js';
import { startSshd } from '../support/sshd.js';
import type { DpkgRoot, Ran } from './dpkg-root.js';

const HOST = 'mw1001.eqiad.wmnet';

export interface UnderRemoval {
  /** The host's pool value when the package was removed. */
  readonly before: unknown;
  readonly removedWhileRunning: boolean;
  readonly run: Ran;
  readonly after: unknown;
}

export async function runUnderRemoval(root: DpkgRoot, deb: string): Promise<UnderRemoval> {
  const etcd = await startEtcd({ host: `${NETS.packageUpgrade}.2` });
  const sshd = await startSshd({ address: `${NETS.packageUpgrade}.11` });
  const kv = await connect(etcd.endpoint);
  try {
    const dir = tempDir('rollout-under-removal-');
    fs.writeFileSync(path.join(dir, 'known_hosts'), `${sshd.knownHostsLine()}\n`);
    const inventory = path.join(dir, 'inventory.yaml');
    fs.writeFileSync(
      inventory,
      [
        `etcd: { endpoints: [${etcd.endpoint}], prefix: /conftool/v1/pools, dialTimeout: 3 }`,
        'defaults:',
        '  weight: 10',
        '  batch: { size: 1 }',
        '  minPooled: 0',
        `  ssh: { user: ${sshd.user}, identityFile: ${JSON.stringify(sshd.clientKey.privatePath)}, knownHosts: ${JSON.stringify(path.join(dir, 'known_hosts'))}, connectTimeout: 5 }`,
        '  restart: { command: "true", timeout: 10 }',
        '  drain: { mode: fixed, seconds: 0 }',
        `  health: { type: http, url: "${etcd.endpoint}/health", attempts: 3, interval: 1 }`,
        // Why: the window in which the package goes: depooled, waiting for the LBs, nothing else started.
        '  lb: { propagationSeconds: 8 }',
        'datacenters:',
        '  eqiad:',
        '    clusters:',
        '      appserver:',
        `        hosts: [{ name: ${HOST}, address: ${sshd.address}, port: ${sshd.port} }]`,
        '',
      ].join('\n'),
    );
    await seed(kv, 'eqiad', 'appserver', { [HOST]: { pooled: 'yes', weight: 10 } });
    const child = spawn(root.path('usr/bin/rollout'), ['sync', '-i', inventory], {
      env: { ...process.env, HOME: dir, XDG_STATE_HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.on('close', (code) => resolve(code));
      child.on('error', (error) => {
        stderr += String(error);
        resolve(null);
      });
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let before: unknown = null;
    for (let i = 0; i < 200 && child.exitCode === null; i += 1) {
      before = await valueOf(kv, 'eqiad', 'appserver', HOST);
      if ((before as { pooled?: string } | null)?.pooled === 'no') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const removed = root.dpkg('--remove', 'rollout');
    if (removed.code !== 0) throw new Error(`dpkg --remove failed: ${removed.stderr}`);
    const removedWhileRunning = child.exitCode === null && !fs.existsSync(root.path('usr/lib/rollout/dist'));
    const code = await exited;
    clearTimeout(kill);
    const after = await valueOf(kv, 'eqiad', 'appserver', HOST);
    const reinstalled = root.dpkg('--install', deb);
    if (reinstalled.code !== 0) throw new Error(`dpkg --install failed: ${reinstalled.stderr}`);
    return { before, removedWhileRunning, run: { code, stdout, stderr }, after };
  } finally {
    await kv.close();
    await sshd.stop();
    await etcd.stop();
  }
}
