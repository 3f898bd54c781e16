import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readSandboxState, sandboxDown, sandboxStatus, sandboxUp } from '../../../scripts/lib/sandbox.mjs';
import type { SandboxHost, SandboxState } from '../../../scripts/lib/sandbox.mjs';
import { NETS } from '../../support/nets.js';

const exec = promisify(execFile);

let dir: string;
let sandbox: SandboxState;
let fakeCli: string;
const subnet = NETS.sandbox;

function host(i: number): SandboxHost {
  const h = sandbox.hosts[i];
  if (!h) throw new Error(`no host ${i}`);
  return h;
}

async function getJson(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function ssh(h: SandboxHost, command: string) {
  return exec(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${sandbox.ssh.knownHosts}`,
      '-i',
      sandbox.ssh.identityFile,
      '-p',
      String(h.sshPort),
      `root@${h.address}`,
      command,
    ],
    { timeout: 30_000 },
  );
}

function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = net.connect(socket, () => c.end(`${command}\n`));
    c.on('data', (d) => {
      out += d.toString();
    });
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

function alive(pid: number): boolean {
  try {
    const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The sandbox's pids plus their direct children (nginx, PHP-FPM and HAProxy workers). */
function fleetPids(): Set<number> {
  const mains = new Set(sandboxStatus({ dir }).flatMap((c) => (c.pid && c.alive ? [c.pid] : [])));
  const all = new Set(mains);
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (mains.has(ppid) && alive(Number(entry))) all.add(Number(entry));
    } catch {
      /* gone */
    }
  }
  return all;
}

describe('scripts/sandbox', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-sandbox-test-'));
    // A stand-in for `rollout lb-agent`: answers --help, otherwise records its arguments and waits.
    fakeCli = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-fake-cli-')), 'rollout.cjs');
    fs.writeFileSync(
      fakeCli,
      `if (process.argv.includes('--help')) process.exit(0);
require('node:fs').writeFileSync(${JSON.stringify(`${fakeCli}.args`)}, JSON.stringify(process.argv.slice(2)));
setInterval(() => {}, 1000);
`,
    );
    sandbox = await sandboxUp({
      dir,
      dcs: ['eqiad'],
      clusters: ['appserver'],
      hostsPerCluster: 2,
      net: subnet,
      rolloutCli: fakeCli,
    });
  }, 120_000);

  afterAll(async () => {
    if (dir && fs.existsSync(dir)) await sandboxDown({ dir });
    if (fakeCli) fs.rmSync(path.dirname(fakeCli), { recursive: true, force: true });
  }, 60_000);

  it('writes an inventory naming every host with its address and ssh port, and copies it nowhere for a custom dir', () => {
    const inventory = parse(fs.readFileSync(sandbox.inventoryFile, 'utf8'));
    expect(inventory.etcd.endpoints).toEqual([sandbox.etcd.endpoint]);
    expect(inventory.datacenters.eqiad.clusters.appserver.hosts).toEqual([
      { name: 'mw1.eqiad.sandbox', address: `${subnet}.11`, port: 2201 },
      { name: 'mw2.eqiad.sandbox', address: `${subnet}.12`, port: 2202 },
    ]);
    expect(inventory.defaults.ssh.identityFile).toBe(path.join(dir, 'ssh', 'id_ed25519'));
    expect(sandbox.inventoryCopy).toBeNull();
  });

  it('starts one lb-agent per datacenter with the sandbox inventory and the HAProxy socket', async () => {
    await expect.poll(() => fs.existsSync(`${fakeCli}.args`), { timeout: 10_000 }).toBe(true);
    expect(JSON.parse(fs.readFileSync(`${fakeCli}.args`, 'utf8'))).toEqual([
      'lb-agent',
      '--dc',
      'eqiad',
      '-i',
      sandbox.inventoryFile,
      '--haproxy-socket',
      sandbox.haproxy.socket,
    ]);
    expect(sandboxStatus({ dir }).find((c) => c.component === 'lb-agent eqiad')?.alive).toBe(true);
  });

  it('serves host JSON with the master pid and release through each host nginx', async () => {
    const res = await fetch(host(0).httpUrl);
    expect(res.headers.get('x-release')).toBe('initial');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ host: 'mw1.eqiad.sandbox', release: 'initial' });
    expect(body.masterPid).toBe(Number(fs.readFileSync(host(0).pidFiles.phpFpm, 'utf8')));
  });

  it('restarts PHP-FPM over ssh with the generated key and known_hosts, giving a new master pid', async () => {
    const before = (await getJson(host(1).httpUrl)).body.masterPid;
    const { stdout } = await ssh(host(1), 'systemctl restart php8.2-fpm');
    expect(stdout).toContain('mw2.eqiad.sandbox: php8.2-fpm running');
    const after = (await getJson(host(1).httpUrl)).body.masterPid;
    expect(after).not.toBe(before);
    expect(alive(before as number)).toBe(false);
  });

  it('routes a request through HAProxy to a host of the backend named by the Host header', async () => {
    const res = await getJson(`${sandbox.haproxy.url}/`, { Host: 'appserver.eqiad' });
    expect(res.status).toBe(200);
    expect(['mw1.eqiad.sandbox', 'mw2.eqiad.sandbox']).toContain(res.body.host);
    const servers = await haproxyCommand(sandbox.haproxy.socket, 'show servers state eqiad_appserver');
    expect(servers).toContain(' mw1.eqiad.sandbox ');
    expect(servers).toContain(' mw2.eqiad.sandbox ');
  });

  it('leaves the running processes alone when up runs a second time', async () => {
    const before = sandboxStatus({ dir });
    expect(before.every((c) => c.alive)).toBe(true);
    await sandboxUp({ dir, agents: false });
    expect(sandboxStatus({ dir }).map((c) => c.pid)).toEqual(before.map((c) => c.pid));
    expect(readSandboxState(dir)?.etcd.endpoint).toBe(sandbox.etcd.endpoint);
  }, 60_000);

  it('listens on loopback addresses only', async () => {
    const pids = fleetPids();
    const { stdout } = await exec('ss', ['-ltnpH']);
    const ours = stdout
      .split('\n')
      .filter((line) => [...line.matchAll(/pid=(\d+)/g)].some((m) => pids.has(Number(m[1]))));
    // etcd (client, peer), HAProxy, and per host: sshd, nginx, PHP-FPM.
    expect(ours.length).toBeGreaterThanOrEqual(3 + 3 * sandbox.hosts.length);
    for (const line of ours) expect(line.split(/\s+/)[3]).toMatch(/^127\./);
  });

  it('down stops every process it started and removes the state dir', async () => {
    const pids = fleetPids();
    expect(pids.size).toBeGreaterThan(10);
    await sandboxDown({ dir });
    expect([...pids].filter(alive)).toEqual([]);
    expect(fs.existsSync(dir)).toBe(false);
  }, 60_000);
});
