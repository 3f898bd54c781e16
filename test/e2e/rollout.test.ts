import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import {
  breakFpm,
  fixFpm,
  sandboxDown,
  sandboxRelease,
  sandboxUp,
  startSshd,
  stopSshd,
} from '../../scripts/lib/sandbox.mjs';
import type { SandboxHost, SandboxState } from '../../scripts/lib/sandbox.mjs';
import type { Kv } from '../../src/kv/kv.js';
import { connectEtcd } from '../../src/kv/etcd-kv.js';
import { createPoolStore } from '../../src/pool/store.js';
import { poolKeyId, type PoolEntry, type PoolStore } from '../../src/pool/types.js';
import { etcdSettings } from '../support/etcd-settings.js';
import { events, exitOf, loadAll, pids, rollout, served, spawnRollout, until, writeTestInventory } from './helpers.js';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';

const run = promisify(execFile);
let dir: string;
let work: string;
let sandbox: SandboxState;
let inventory: string;
let kv: Kv;
let pool: PoolStore;

const key = (h: SandboxHost) => ({ dc: h.dc, cluster: h.cluster, service: 'php-fpm', host: h.name });
const host = (i: number): SandboxHost =>
  sandbox.hosts[i] ??
  (() => {
    throw new Error(`no host ${i}`);
  })();

async function entry(h: SandboxHost): Promise<PoolEntry> {
  const e = (await pool.read([key(h)])).get(poolKeyId(key(h)));
  if (!e) throw new Error(`no entry for ${h.name}`);
  return e;
}
async function pooled(h: SandboxHost): Promise<string> {
  const e = await entry(h);
  return e.state === 'present' ? e.value.pooled : e.state;
}
async function setPooled(h: SandboxHost, value: 'yes' | 'no' | 'inactive'): Promise<void> {
  await pool.write(await entry(h), { pooled: value });
}
/**
 * The test inventory with a fixed 20 s drain: a run is surely still going when the test acts on it
 * (preempts it, freezes etcd under it), whatever the machine's speed.
 */
function slowDrainInventory(): string {
  const slow = path.join(work, 'slow-drain.yaml');
  const doc = parseDocument(fs.readFileSync(inventory, 'utf8'));
  doc.setIn(['defaults', 'drain'], doc.createNode({ mode: 'fixed', seconds: 20 }));
  fs.writeFileSync(slow, doc.toString());
  return slow;
}

function ssh(h: SandboxHost, command: string) {
  return run('ssh', ['-F', sandbox.ssh.config, h.name, command], { timeout: 30_000 });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-e2e-'));
  // Why: a loopback net of its own, so the suite never meets a running default sandbox or another suite.
  sandbox = await sandboxUp({
    dir,
    dcs: ['eqiad', 'codfw'],
    clusters: ['appserver'],
    hostsPerCluster: 4,
    net: NETS.e2e,
    sshBasePort: 2600,
    release: 'r1',
  });
  // Why: the sandbox dir holds only what the sandbox made (sandboxDown checks); our files live beside it.
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-e2e-work-'));
  inventory = path.join(work, 'e2e.yaml');
  writeTestInventory(sandbox, inventory);
  kv = await connectEtcd(etcdSettings(sandbox.etcd.endpoint));
  pool = createPoolStore(kv, '/conftool/v1/pools');
  // Both LB agents registered before any test relies on their confirmations.
  await until(
    'two LB agents',
    async () =>
      (await kv.list('/rollout/v1/lb/eqiad/agents/')).length > 0 &&
      (await kv.list('/rollout/v1/lb/codfw/agents/')).length > 0,
  );
}, 180_000);

afterAll(async () => {
  await kv?.close();
  if (dir) await sandboxDown({ dir });
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 60_000);

beforeEach(async () => {
  // Every scenario starts from a pooled fleet.
  for (const h of sandbox.hosts) if ((await pooled(h)) !== 'yes') await setPooled(h, 'yes');
});

describe('rollout on a real sandbox fleet under load', () => {
  it('sync restarts every PHP-FPM master without a failed request, confirmed by the LB agents', async () => {
    const before = await pids(sandbox);
    const load = loadAll(sandbox);
    await new Promise((r) => setTimeout(r, 500));
    const result = await rollout(['sync', '--json', '--reason', 'e2e'], inventory);
    const traffic = await load.stop();
    expectExit(result, 0);
    expect(traffic.failed, JSON.stringify(traffic.failures)).toBe(0);
    expect(traffic.ok).toBeGreaterThan(0);
    const after = await pids(sandbox);
    for (const h of sandbox.hosts) {
      expect(after.get(h.name), h.name).not.toBeNull();
      expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
      expect(await pooled(h)).toBe('yes');
    }
    const evs = events(result.stdout);
    expect(evs.filter((e) => e['event'] === 'lb.confirmed')).toHaveLength(sandbox.hosts.length);
    expect(evs.filter((e) => e['event'] === 'lb.propagation-assumed')).toHaveLength(0);
    // Every host resolved: the run deleted its journal, so journals stay bounded.
    expect((await kv.list('/rollout/v1/runs/')).map((e) => e.key)).toEqual([]);
  }, 180_000);

  it('restart <cluster> <dc> restarts that cluster only', async () => {
    const before = await pids(sandbox);
    const result = await rollout(['restart', 'appserver', 'codfw', '--reason', 'e2e'], inventory);
    expectExit(result, 0);
    const after = await pids(sandbox);
    for (const h of sandbox.hosts) {
      if (h.dc === 'codfw') expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
      else expect(after.get(h.name), h.name).toBe(before.get(h.name));
      expect(await pooled(h)).toBe('yes');
    }
  }, 180_000);

  it('sync --release proves every host serves the new release', async () => {
    await sandboxRelease('r2', [], { dir });
    expect((await served(host(0)))?.release).toBe('r1'); // opcache-like: old code until the restart
    const result = await rollout(['sync', '--release', 'r2', '--reason', 'e2e'], inventory);
    expectExit(result, 0);
    for (const h of sandbox.hosts) expect((await served(h))?.release, h.name).toBe('r2');
  }, 180_000);

  it('sync --emergency --yes restarts every master and writes no pool key; failed requests are counted', async () => {
    const before = await pids(sandbox);
    const revisions = await Promise.all(
      sandbox.hosts.map(async (h) => {
        const e = await entry(h);
        return e.state === 'present' ? e.modRevision : -1;
      }),
    );
    const load = loadAll(sandbox);
    const result = await rollout(['sync', '--emergency', '--yes', '--reason', 'e2e'], inventory);
    const traffic = await load.stop();
    expectExit(result, 0);
    const after = await pids(sandbox);
    for (const h of sandbox.hosts) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
    const now = await Promise.all(
      sandbox.hosts.map(async (h) => {
        const e = await entry(h);
        return e.state === 'present' ? e.modRevision : -1;
      }),
    );
    expect(now).toEqual(revisions);
    // Recorded, not required to be 0: an emergency restart kills what is in flight.
    console.log(
      `emergency under load: ${traffic.ok} served, ${traffic.failed} failed ${JSON.stringify(traffic.failures)}`,
    );
    expect(traffic.requests).toBeGreaterThan(0);
    // Why: the graceful run's "0 failed" means something only if this same load check can see a failure.
    expect(traffic.failed, 'the load check saw no failure while every master was restarted in place').toBeGreaterThan(
      0,
    );
  }, 180_000);

  it('a host whose sshd is down fails with exit 1, is never depooled, and the others are restarted', async () => {
    const down = host(1);
    await stopSshd(down.name, { dir });
    try {
      const before = await pids(sandbox);
      const result = await rollout(['sync', '--json', '--failure-budget', '1', '--reason', 'e2e'], inventory);
      expectExit(result, 1);
      const failed = events(result.stdout).filter((e) => e['event'] === 'host.failed');
      expect(failed.map((e) => e['host'])).toEqual([down.name]);
      expect(failed[0]?.['code']).toBe('E_SSH_CONNECT');
      expect(result.stdout).toContain(down.name);
      const after = await pids(sandbox);
      for (const h of sandbox.hosts) {
        expect(await pooled(h), h.name).toBe('yes');
        if (h !== down) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
      }
      expect(after.get(down.name)).toBe(before.get(down.name));
    } finally {
      await startSshd(down.name, { dir });
    }
  }, 180_000);

  it('a host whose PHP-FPM cannot start stays depooled, exit 1, and the failure budget stops further batches', async () => {
    const broken = host(0); // first batch of eqiad/appserver
    breakFpm(broken.name, { dir });
    try {
      const logFile = path.join(work, 'fpm-broken.log');
      const result = await rollout(
        ['sync', '--json', '--parallel-clusters', '1', '--reason', 'e2e', '--log-file', logFile],
        inventory,
      );
      expectExit(result, 1);
      // The run log is complete once the process has exited: its last event is run.finished, then the summary.
      const logged = fs
        .readFileSync(logFile, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { event?: string; msg?: string });
      expect(logged.filter((l) => l.event !== undefined).at(-1)).toMatchObject({ event: 'run.finished', exitCode: 1 });
      expect(logged.at(-1)?.msg).toMatch(/^summary:\n.*exit 1/);
      const evs = events(result.stdout);
      const failed = evs.filter((e) => e['event'] === 'host.failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ host: broken.name, step: 'restart', depooled: true });
      expect(await pooled(broken)).toBe('no');
      const finished = evs.find((e) => e['event'] === 'run.finished');
      expect(finished?.['notStarted']).toBe(sandbox.hosts.length - 1);
      for (const h of sandbox.hosts) if (h !== broken) expect(await pooled(h), h.name).toBe('yes');
    } finally {
      fixFpm(broken.name, { dir });
      await ssh(broken, 'systemctl start php8.2-fpm');
    }
    const repool = await rollout(['pool', broken.name, '--reason', 'fixed the PHP-FPM config'], inventory);
    expectExit(repool, 0);
  }, 180_000);

  it('restarts a host others depooled and leaves it depooled; leaves an inactive host alone', async () => {
    const depooled = host(4);
    const inactive = host(5);
    await setPooled(depooled, 'no');
    await setPooled(inactive, 'inactive');
    const revNo = (await entry(depooled)) as Extract<PoolEntry, { state: 'present' }>;
    const revInactive = (await entry(inactive)) as Extract<PoolEntry, { state: 'present' }>;
    const before = await pids(sandbox);
    const result = await rollout(['sync', '--reason', 'e2e'], inventory);
    expectExit(result, 0);
    const after = await pids(sandbox);
    expect(after.get(depooled.name)).not.toBe(before.get(depooled.name));
    expect(after.get(inactive.name)).toBe(before.get(inactive.name));
    expect(await entry(depooled)).toMatchObject({ modRevision: revNo.modRevision, value: { pooled: 'no' } });
    expect(await entry(inactive)).toMatchObject({
      modRevision: revInactive.modRevision,
      value: { pooled: 'inactive' },
    });
  }, 180_000);

  it('a second sync while one runs exits 3 and names the holder', async () => {
    const first = spawnRollout(['sync', '--reason', 'holding the lock'], inventory);
    try {
      await until('the first run to lock', async () => (await kv.list('/rollout/v1/locks/')).length > 0, 30_000);
      const second = await rollout(['sync', '--reason', 'second'], inventory);
      expectExit(second, 3);
      expect(second.stderr).toMatch(/locked by/);
      expect(second.stderr).toContain('holding the lock');
    } finally {
      expect(await exitOf(first)).toBe(0);
    }
  }, 180_000);

  it('an emergency sync takes over a running graceful sync: it yields (repooling what is healthy), then every host is hard-restarted', async () => {
    const slow = slowDrainInventory();
    const graceful = spawnRollout(['sync', '--json', '--reason', 'slow deploy'], slow);
    let out = '';
    graceful.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = exitOf(graceful);
    await until('the graceful run to depool a host', async () => out.includes('"event":"host.depooled"'), 60_000);
    const before = await pids(sandbox);
    const emergency = await rollout(['sync', '--emergency', '--yes', '--json', '--reason', 'rollback'], slow);
    expectExit(emergency, 0);
    expect(emergency.stderr).toContain('asked it to stop for this emergency run');
    expect(await code).toBe(1);
    const summary = events(out).find((e) => e['event'] === 'run.summary');
    expect(String(summary?.['interruptedBy'])).toMatch(/^preempted by emergency run \S+ \(/);
    expect(summary?.['totals']).toMatchObject({ leftDepooled: 0 });
    const after = await pids(sandbox);
    for (const h of sandbox.hosts) {
      expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
      expect(await pooled(h), h.name).toBe('yes');
    }
    expect(await kv.list('/rollout/v1/preempt/')).toEqual([]);
  }, 180_000);

  it('after a sync killed with SIGKILL mid-batch, recover --yes repools every host the dead run depooled', async () => {
    const victim = spawnRollout(['sync', '--reason', 'to be killed'], inventory);
    const depooled = await until(
      'a depooled host',
      async () => {
        for (const h of sandbox.hosts) if ((await pooled(h)) === 'no') return h;
        return undefined;
      },
      60_000,
    );
    victim.kill('SIGKILL');
    await exitOf(victim);
    expect(await pooled(depooled)).toBe('no');
    // The lock goes with its lease (10 s TTL); the journal stays for recover.
    await until(
      "the dead run's locks to expire",
      async () => (await kv.list('/rollout/v1/locks/')).length === 0,
      30_000,
    );
    const status = await rollout(['status'], inventory);
    expect(status.stdout).toMatch(/died: run `rollout recover`/);
    // Within the grace after its last journal write, the dead run is left alone (it may still be finishing a step):
    // --no-wait exits 75 (EX_TEMPFAIL) and says when to retry, never "nothing to recover".
    const early = await rollout(['recover', '--yes', '--no-wait', '--grace', '120'], inventory);
    expectExit(early, 75);
    expect(early.stderr).toMatch(/retry `rollout recover` in \d+s \(exit 75\), or pass --grace 0/);
    expect(early.stdout).not.toContain('nothing to recover');
    expect(await pooled(depooled)).toBe('no');
    const recovered = await rollout(['recover', '--yes', '--grace', '0'], inventory);
    expectExit(recovered, 0);
    expect(recovered.stdout).toContain(depooled.name);
    for (const h of sandbox.hosts) expect(await pooled(h), h.name).toBe('yes');
    const again = await rollout(['recover', '--yes'], inventory);
    expectExit(again, 0);
    expect(again.stdout).toMatch(/nothing to recover/);
  }, 180_000);

  it('with etcd frozen (SIGSTOP) longer than the lease mid-sync, the run ends by itself; once etcd is back, recover repools every host', async () => {
    const etcdPid = Number(fs.readFileSync(sandbox.etcd.pidFile, 'utf8').trim());
    // Why: pid_max is small here and pids are reused: signal only the sandbox's own etcd.
    expect(fs.readFileSync(`/proc/${etcdPid}/cmdline`, 'utf8')).toContain(sandbox.dir);
    const victim = spawnRollout(['sync', '--json', '--reason', 'etcd will freeze'], slowDrainInventory());
    let out = '';
    victim.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = exitOf(victim);
    await until('a depool', async () => out.includes('"event":"host.depooled"'), 60_000);
    process.kill(etcdPid, 'SIGSTOP');
    try {
      // Longer than the lease (10 s): the run must notice on its own and stop writing.
      await new Promise((r) => setTimeout(r, 12_000));
    } finally {
      process.kill(etcdPid, 'SIGCONT');
    }
    const exit = await code;
    expect([1, 5]).toContain(exit);
    expect(out).toMatch(/lost the cluster lock|etcd unreachable/);
    await until("the run's locks to expire", async () => (await kv.list('/rollout/v1/locks/')).length === 0, 60_000);
    const recovered = await rollout(['recover', '--yes', '--grace', '0'], inventory);
    expectExit(recovered, 0);
    for (const h of sandbox.hosts) expect(await pooled(h), h.name).toBe('yes');
    expect(await kv.list('/rollout/v1/runs/')).toEqual([]);
    // The LB agents registered again after the freeze (the next run relies on them).
    await until(
      'two LB agents',
      async () =>
        (await kv.list('/rollout/v1/lb/eqiad/agents/')).length > 0 &&
        (await kv.list('/rollout/v1/lb/codfw/agents/')).length > 0,
      60_000,
    );
  }, 240_000);
});
