// rollout on a sandbox whose etcd is a 3-member cluster: the leader is killed mid-sync, under load.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxDown, sandboxUp } from '../../scripts/lib/sandbox.mjs';
import type { SandboxState } from '../../scripts/lib/sandbox.mjs';
import { connectEtcd } from '../../src/kv/etcd-kv.js';
import type { Kv } from '../../src/kv/kv.js';
import { etcdSettings } from '../support/etcd-settings.js';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, exitOf, loadAll, pids, spawnRollout, until, writeTestInventory } from './helpers.js';

let dir: string;
let work: string;
let sandbox: SandboxState;
let inventory: string;
let kv: Kv;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-e2e3-'));
  sandbox = await sandboxUp({
    dir,
    dcs: ['eqiad'],
    clusters: ['appserver'],
    hostsPerCluster: 4,
    net: NETS.etcdCluster,
    release: 'r1',
    etcdMembers: 3,
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-e2e3-work-'));
  inventory = path.join(work, 'e2e.yaml');
  writeTestInventory(sandbox, inventory);
  kv = await connectEtcd(etcdSettings(sandbox.etcd.endpoints[0] ?? '', { endpoints: sandbox.etcd.endpoints }));
  await until('the LB agent', async () => (await kv.list('/rollout/v1/lb/eqiad/agents/')).length > 0);
}, 180_000);

afterAll(async () => {
  await kv?.close();
  if (dir) await sandboxDown({ dir });
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The member that leads the cluster now, by `etcdctl endpoint status`. */
function leader(): SandboxState['etcd']['members'][number] {
  const out = execFileSync(
    '/usr/bin/etcdctl',
    ['--endpoints', sandbox.etcd.endpoints.join(','), 'endpoint', 'status', '-w', 'json'],
    { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' },
  );
  const status = JSON.parse(out) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
  const lead = status.find((s) => s.Status.header.member_id === s.Status.leader);
  const member = sandbox.etcd.members.find((m) => m.endpoint === lead?.Endpoint);
  if (!member) throw new Error(`no leader in ${out}`);
  return member;
}

describe('rollout on a 3-member etcd', () => {
  it('survives the leader being killed mid-sync: exit 0, no failed request, every host restarted and pooled', async () => {
    const before = await pids(sandbox);
    const load = loadAll(sandbox);
    const run = spawnRollout(['sync', '--json', '--reason', 'leader dies'], inventory);
    let out = '';
    let err = '';
    run.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    run.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = exitOf(run);
    await until('a depool', async () => out.includes('"event":"host.depooled"'), 60_000);
    const victim = leader();
    const pid = Number(fs.readFileSync(victim.pidFile, 'utf8').trim());
    // Why: pids are reused here: kill only the member whose command line names its own data dir.
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(victim.dataDir);
    process.kill(pid, 'SIGKILL');
    expectExit({ code: await code, stdout: out, stderr: err }, 0);
    const traffic = await load.stop();
    expect(traffic.failed, JSON.stringify(traffic.failures)).toBe(0);
    const after = await pids(sandbox);
    for (const h of sandbox.hosts) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
    const summary = events(out).find((e) => e['event'] === 'run.summary');
    expect(summary?.['totals']).toMatchObject({ done: 4, failed: 0, leftDepooled: 0 });
  }, 180_000);
});
