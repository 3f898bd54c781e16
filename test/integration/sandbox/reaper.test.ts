// Servers die with the test run: a vitest run killed in the middle of a file that holds a sandbox
// (etcd, sshd, nginx, PHP-FPM, HAProxy, LB agents) leaves nothing running, even on SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cmdline, processesOf, reapGroup } from '../../../scripts/lib/sandbox.mjs';
import { reapOrphanOnNet } from '../../../scripts/lib/sandbox/owner.mjs';
import { NETS } from '../../support/nets.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const VITEST = path.join(ROOT, 'node_modules/vitest/vitest.mjs');
const CONFIG = path.join(import.meta.dirname, 'fixtures/vitest.hold.config.ts');
const dirs: string[] = [];

afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await reapGroup(dir); // only if the test failed: what the reaper should have stopped
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Every live process of the run in `dir` (its TMPDIR): by command line, environment or ancestry. */
const left = (dir: string): string[] => processesOf(dir).map((pid) => `${pid} ${cmdline(pid).slice(0, 120)}`);

/** Starts the fixture's vitest run (node itself, not npx: a signal must reach it) and waits for its sandbox. */
async function holdSandbox(): Promise<{ dir: string; vitest: ChildProcess; output: () => string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reaper-'));
  dirs.push(dir);
  const ready = path.join(dir, 'ready');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const vitest = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG], {
    cwd: ROOT,
    env: { ...env, TMPDIR: dir, HOLD_NET: NETS.reaper, HOLD_READY: ready },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  vitest.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  vitest.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 90_000;
  while (!fs.existsSync(ready)) {
    if (Date.now() > deadline || vitest.exitCode !== null) throw new Error(`the sandbox never came up:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { dir, vitest, output: () => output };
}

async function gone(dir: string, withinMs: number): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline && left(dir).length > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  return left(dir);
}

describe('a test run killed while it holds a sandbox', { timeout: 180_000 }, () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('leaves no process of it running 10 s after %s', async (signal) => {
    const { dir, vitest } = await holdSandbox();
    const running = left(dir);
    expect(
      running.filter((p) =>
        / \/usr\/bin\/etcd | sshd: | nginx: | php-fpm: | \/usr\/sbin\/haproxy |lb-agent/.test(` ${p} `),
      ).length,
    ).toBeGreaterThan(5);
    vitest.kill(signal);
    expect(await gone(dir, 10_000)).toEqual([]);
  });
});

describe('a new sandbox on a net an earlier run left', { timeout: 60_000 }, () => {
  // Why: a net no sandbox uses, so the record written here meets nobody else's.
  const NET = '127.0.251';
  const record = (dir: string, owner: string): void => {
    fs.mkdirSync('/tmp/rollout-sandbox-nets', { recursive: true });
    fs.writeFileSync(`/tmp/rollout-sandbox-nets/${NET}`, JSON.stringify({ dir, owner }));
  };
  /** A process that names `dir` on its command line, as a sandbox daemon names its state dir. */
  const daemonOf = (dir: string): ChildProcess =>
    spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', path.join(dir, 'etcd')], {
      detached: true,
      stdio: 'ignore',
    });

  it("stops what it left when that run's owner is gone (same pid, another start time), and only that", async () => {
    const old = fs.mkdtempSync(path.join(os.tmpdir(), 'reaper-old-'));
    dirs.push(old);
    const daemon = daemonOf(old);
    await new Promise((resolve) => daemon.once('spawn', resolve));
    record(old, '1@0'); // pid 1 is alive, but not with start time 0: that owner is gone
    const reaped = await reapOrphanOnNet(NET, path.join(os.tmpdir(), 'new-sandbox'));
    expect(reaped?.pids).toContain(daemon.pid);
    expect(processesOf(old)).toEqual([]);
  });

  it('leaves a sandbox alone while its owner lives', async () => {
    const old = fs.mkdtempSync(path.join(os.tmpdir(), 'reaper-old-'));
    dirs.push(old);
    const daemon = daemonOf(old);
    await new Promise((resolve) => daemon.once('spawn', resolve));
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    record(old, `${process.pid}@${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`);
    expect(await reapOrphanOnNet(NET, path.join(os.tmpdir(), 'new-sandbox'))).toBeUndefined();
    expect(processesOf(old)).toEqual([daemon.pid]);
    fs.rmSync(`/tmp/rollout-sandbox-nets/${NET}`, { force: true });
  });
});
