// Rolling-restart benchmark: `rollout sync` vs `rollout sync --emergency --yes` on the sandbox,
// under HTTP load through HAProxy (one load loop per backend, as in scripts/lib/demo.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadAllBackends, masterPids } from '../scripts/lib/fleet-load.mjs';
import { eventsOf, runCli } from './cli.js';
import { median, quantile } from './stats.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the CLI with --json; resolves its exit code, its run.summary line and its stderr. */
async function rollout(args, env) {
  // Why: bounded in time; a graceful run of 12 hosts takes well under this.
  const { exitCode, stdout, stderr } = await runCli([...args, '--json'], env, { timeoutMs: 180_000 });
  return {
    exitCode,
    summary: eventsOf(stdout, 'run.summary')[0] ?? null,
    stderr,
    lbConfirmed: eventsOf(stdout, 'lb.confirmed').length,
  };
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
  const restarted = sandbox.hosts.filter(
    (h) => before[h.name] && after[h.name] && before[h.name] !== after[h.name],
  ).length;
  const perHost = (summary?.hosts ?? [])
    .filter((h) => h.outcome === 'done' && typeof h.durationMs === 'number')
    .map((h) => h.durationMs);
  if (exitCode !== 0) log?.(`rollout ${label}: exit ${exitCode}\n${stderr.trim().split('\n').slice(-10).join('\n')}`);
  log?.(
    `rollout ${label}: ${seconds.toFixed(1)} s, ${lbConfirmed} depools confirmed by LB agents, ${traffic.ok} served, ${traffic.failed} failed ${traffic.failed ? JSON.stringify(traffic.failures) : ''}`,
  );
  return {
    exitCode,
    wallSeconds: seconds,
    hosts: sandbox.hosts.length,
    restarted,
    done: perHost.length,
    lbConfirmed,
    perHostMs: {
      median: median(perHost),
      p95: quantile(perHost, 0.95),
      max: perHost.length ? Math.max(...perHost) : Number.NaN,
    },
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
