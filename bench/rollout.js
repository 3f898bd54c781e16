// Rolling-restart benchmark: `rollout sync` vs `rollout sync --emergency --yes` on the sandbox,
// under HTTP load through HAProxy (one load loop per backend, as in scripts/lib/demo.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllBackends, masterPids } from '../scripts/lib/fleet-load.mjs';
import { median, quantile } from './stats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'bin', 'rollout.js');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the CLI with --json; resolves its exit code, its run.summary line and its stderr. */
function rollout(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, '--json'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // Why: bounded in time; a graceful run of 12 hosts takes well under this.
    const timer = setTimeout(() => child.kill('SIGTERM'), 180_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const summaryLine = stdout.split('\n').find((l) => l.includes('"event":"run.summary"'));
      const lbConfirmed = stdout.split('\n').filter((l) => l.includes('"event":"lb.confirmed"')).length;
      resolve({ exitCode: code ?? (signal ? 128 : 1), summary: summaryLine ? JSON.parse(summaryLine) : null, stderr, lbConfirmed });
    });
  });
}


async function phase(sandbox, label, args, { concurrency, env, log }) {
  const before = await masterPids(sandbox);
  const load = loadAllBackends(sandbox, { concurrency, maxSeconds: 240 });
  await sleep(1000);
  const started = Date.now();
  const { exitCode, summary, stderr, lbConfirmed } = await rollout(args, env);
  const seconds = (Date.now() - started) / 1000;
  await sleep(500);
  const traffic = await load.stop();
  const after = await masterPids(sandbox);
  const restarted = sandbox.hosts.filter((h) => before[h.name] && after[h.name] && before[h.name] !== after[h.name]).length;
  const perHost = (summary?.hosts ?? []).filter((h) => h.outcome === 'done' && typeof h.durationMs === 'number').map((h) => h.durationMs);
  if (exitCode !== 0) log?.(`rollout ${label}: exit ${exitCode}\n${stderr.trim().split('\n').slice(-10).join('\n')}`);
  log?.(`rollout ${label}: ${seconds.toFixed(1)} s, ${lbConfirmed} depools confirmed by LB agents, ${traffic.ok} served, ${traffic.failed} failed ${traffic.failed ? JSON.stringify(traffic.failures) : ''}`);
  return {
    exitCode, wallSeconds: seconds, hosts: sandbox.hosts.length, restarted, done: perHost.length, lbConfirmed,
    perHostMs: { median: median(perHost), p95: quantile(perHost, 0.95), max: perHost.length ? Math.max(...perHost) : Number.NaN },
    ...traffic,
  };
}

export async function benchRollout({ sandbox, concurrency = 8, log }) {
  // Why: run logs go to a temp dir, not ~/.local/state; not the sandbox dir, whose down refuses foreign files.
  const stateHome = mkdtempSync(path.join(os.tmpdir(), 'rollout-bench-logs-'));
  try {
    const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1' };
    const inv = ['-i', sandbox.inventoryFile, '--reason', 'benchmark'];
    const opts = { concurrency, env, log };
    const graceful = await phase(sandbox, 'sync', ['sync', ...inv], opts);
    const emergency = await phase(sandbox, 'sync --emergency', ['sync', '--emergency', '--yes', ...inv], opts);
    return { loadConcurrency: concurrency, graceful, emergency };
  } finally {
    rmSync(stateHome, { recursive: true, force: true });
  }
}
