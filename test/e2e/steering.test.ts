import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, exitOf, loadAll, pids, rollout, spawnRollout, until } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

// Steering a real run from a second process (sandbox: etcd, sshd, PHP-FPM, HAProxy and its LB agent on loopback).
const fx = useSandbox(
  'steering',
  { dcs: ['eqiad'], clusters: ['appserver'], hostsPerCluster: 4, net: NETS.steering, sshBasePort: 2920 },
  (doc) => {
    // Why: a restart that takes a second keeps a host in flight long enough for a second process to act.
    doc.setIn(
      ['defaults', 'restart', 'command'],
      `sleep 1 && ${String(doc.getIn(['defaults', 'restart', 'command']))}`,
    );
  },
);

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
}

/** `rollout sync --json --batch-size 1 …` in the background, its output collected as it comes. */
function startSync(extra: readonly string[] = []): Running {
  const child = spawnRollout(['sync', '--json', '--batch-size', '1', ...extra], fx.inventory);
  const run: Running = { child, stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
  return run;
}

const count = (run: Running, event: string): number => events(run.stdout).filter((e) => e['event'] === event).length;
const pooledStates = async (): Promise<string[]> =>
  (await fx.kv.list('/conftool/v1/pools/eqiad/appserver/')).map((e) => String(JSON.parse(e.value).pooled));
const firstRestartRunning = (run: Running) => () => Promise.resolve(count(run, 'host.drained') > 0);

describe('steering a running sync from another process', { timeout: 240_000 }, () => {
  it('pause: the host in flight finishes and is repooled, nothing starts for 5 s, status says paused; resume finishes every host once', async () => {
    const before = await pids(fx.sandbox);
    const run = startSync();
    await until('the first restart', firstRestartRunning(run));
    const paused = await rollout(['pause', '--reason', 'e2e: an alert fired'], fx.inventory);
    expectExit(paused, 0);
    expect(paused.stdout).toMatch(/asked run \S+ .* to pause/);
    await until('the pause', () => Promise.resolve(count(run, 'run.paused') === 1));
    await until('the host in flight to finish', () =>
      Promise.resolve(count(run, 'host.done') + count(run, 'host.failed') === count(run, 'host.dispatched')),
    );
    const started = count(run, 'host.dispatched');
    // Sample the pool keys for 5 s: every host stays pooled, no host is dispatched.
    for (let i = 0; i < 25; i += 1) {
      expect(await pooledStates()).toEqual(['yes', 'yes', 'yes', 'yes']);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(count(run, 'host.dispatched')).toBe(started);
    const status = JSON.parse((await rollout(['status', '--runs', '--json'], fx.inventory)).stdout) as {
      runs: { state: string; detail: string; clusters: { done: number }[] }[];
    };
    expect(status.runs).toHaveLength(1);
    expect(status.runs[0]).toMatchObject({ state: 'paused' });
    expect(status.runs[0]?.detail).toContain('e2e: an alert fired');
    const text = await rollout(['status'], fx.inventory);
    expect(text.stdout).toMatch(/live run \S+: PAUSED/);
    expectExit(await rollout(['resume'], fx.inventory), 0);
    expectExit({ code: await exitOf(run.child), stdout: run.stdout, stderr: run.stderr }, 0);
    const restarted = events(run.stdout)
      .filter((e) => e['event'] === 'host.restarted')
      .map((e) => e['host']);
    expect([...restarted].sort()).toEqual(fx.sandbox.hosts.map((h) => h.name).sort());
    const after = await pids(fx.sandbox);
    for (const h of fx.sandbox.hosts) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
    expect(count(run, 'run.resumed')).toBe(1);
    expect((await rollout(['status', '--runs', '--json'], fx.inventory)).stdout).toContain('"runs":[]');
  });

  it('abort under load: exit 1, no failed request, nothing left depooled, the summary names who aborted', async () => {
    const load = loadAll(fx.sandbox);
    await new Promise((r) => setTimeout(r, 500));
    const run = startSync();
    await until('the first restart', firstRestartRunning(run));
    expectExit(await rollout(['abort', '--reason', 'e2e: bad release'], fx.inventory), 0);
    const code = await exitOf(run.child);
    const traffic = await load.stop();
    expectExit({ code, stdout: run.stdout, stderr: run.stderr }, 1);
    expect(traffic.failed, JSON.stringify(traffic.failures)).toBe(0);
    expect(traffic.ok).toBeGreaterThan(0);
    expect(await pooledStates()).toEqual(['yes', 'yes', 'yes', 'yes']);
    const summary = events(run.stdout).find((e) => e['event'] === 'run.summary') as { warnings: string[] };
    expect(summary.warnings.join('\n')).toMatch(/ABORTED by \S+@\S+: e2e: bad release/);
    expect(count(run, 'host.dispatched')).toBe(1);
  });

  it('SIGHUP: a soft stop like the first Ctrl-C, nothing left depooled, the summary in the log', async () => {
    const run = startSync();
    await until('the first restart', firstRestartRunning(run));
    run.child.kill('SIGHUP');
    const code = await exitOf(run.child);
    expectExit({ code, stdout: run.stdout, stderr: run.stderr }, 130);
    expect(await pooledStates()).toEqual(['yes', 'yes', 'yes', 'yes']);
    const runId = String(events(run.stdout).find((e) => e['event'] === 'run.started')?.['runId']);
    const log = fs.readFileSync(path.join(path.dirname(fx.inventory), 'rollout', `${runId}.log`), 'utf8');
    expect(log).toContain('summary:');
    expect(log).toContain('interrupted by SIGHUP');
  });

  it('freeze: sync exits 3 naming who and why; --ignore-freeze runs and says so first; unfreeze lifts it', async () => {
    expectExit(await rollout(['freeze', '--reason', 'e2e: db failover'], fx.inventory), 0);
    const refused = await rollout(['sync', '--reason', 'e2e'], fx.inventory);
    expectExit(refused, 3);
    expect(refused.stderr).toMatch(/the whole fleet frozen by \S+@\S+ .*e2e: db failover/);
    expect(refused.stderr).toContain('(E_FROZEN)');
    const emergency = await rollout(['sync', '--emergency', '--yes'], fx.inventory);
    expectExit(emergency, 3);
    expect(emergency.stderr).toContain('needs --ignore-freeze too');
    const forced = await rollout(['sync', '--json', '--ignore-freeze'], fx.inventory);
    expectExit(forced, 0);
    const first = events(forced.stdout)[0] as { event: string; freezeIgnored: string[] };
    expect(first.event).toBe('run.started');
    expect(first.freezeIgnored.join()).toContain('e2e: db failover');
    expectExit(await rollout(['unfreeze'], fx.inventory), 0);
    expect((await rollout(['status', '--runs', '--json'], fx.inventory)).stdout).toContain('"freezes":[]');
    expectExit(await rollout(['sync', '--dry-run'], fx.inventory), 0);
  });

  it('--deadline: past it nothing new starts, the run ends as on abort (exit 1), saying so, nothing left depooled', async () => {
    const r = await rollout(['sync', '--json', '--batch-size', '1', '--deadline', '2s'], fx.inventory);
    expectExit(r, 1);
    const all = events(r.stdout);
    const aborted = all.find((e) => e['event'] === 'run.aborted');
    expect(aborted).toMatchObject({ by: 'deadline' });
    expect(String(aborted?.['reason'])).toContain('the deadline (2s');
    expect(all.filter((e) => e['event'] === 'host.dispatched').length).toBeLessThan(4);
    expect(await pooledStates()).toEqual(['yes', 'yes', 'yes', 'yes']);
  });

  it('pause with no live run, or a run that is not live, is a usage error (exit 2)', async () => {
    const none = await rollout(['pause', '--reason', 'x'], fx.inventory);
    expectExit(none, 2);
    expect(none.stderr).toContain('there is no live run to pause');
    const named = await rollout(['abort', 'nosuch', '--reason', 'x'], fx.inventory);
    expectExit(named, 2);
    expect(named.stderr).toContain('no live run nosuch');
    const badDeadline = await rollout(['sync', '--deadline', 'soon'], fx.inventory);
    expectExit(badDeadline, 2);
    expect(badDeadline.stderr).toContain('--deadline: expected a duration');
  });
});
