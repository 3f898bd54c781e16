// rollout against the bare work of a graceful restart, on the same sandbox hosts and in the same
// batches, in one run. The bare loop (plain etcd3 + ssh2 + fetch, no journal, no locks, no guard)
// does per host: depool, wait until every LB agent has applied it, drain (PHP-FPM status until
// only the probe is active), restart over an open SSH connection, poll the health URL until the
// first good answer, repool, wait until the agents have applied it. Clusters in parallel, batches
// of one host in order, as the sandbox's rollout runs them. The difference per batch is rollout's
// own cost: the target is at most 0.1 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventsOf, runCli, runNode } from './cli.js';

const BARE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'side-by-side-bare.js');

/** The bare loop (bench/side-by-side-bare.js) as a whole process on the sandbox described in `file`. */
async function bareLoop(file, env) {
  const { exitCode, stdout, stderr, wallMs } = await runNode(BARE, [file], env, { timeoutMs: 180_000 });
  if (exitCode !== 0) throw new Error(`bare loop exited ${exitCode}: ${stderr.slice(-2000)}`);
  const out = JSON.parse(stdout.trim().split('\n').at(-1));
  return { wallMs, batches: out.batches, runMs: out.runMs };
}

async function rolloutSync(sandbox, env) {
  const { exitCode, stdout, wallMs } = await runCli(['sync', '-i', sandbox.inventoryFile, '--json'], env, {
    timeoutMs: 180_000,
  });
  return { exitCode, wallMs, runMs: eventsOf(stdout, 'run.finished')[0]?.durationMs ?? Number.NaN };
}

/** `rounds` alternating rollout / bare runs on the sandbox; medians, and rollout's cost per batch. */
export async function benchSideBySide({ sandbox, rounds = 3, log }) {
  const stateHome = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-bench-logs-'));
  const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1' };
  const described = path.join(stateHome, 'sandbox.json');
  fs.writeFileSync(described, JSON.stringify(sandbox));
  const runs = [];
  try {
    // Why: a bare run before and after each rollout run; the faster of the two counts for that round.
    let previous = await bareLoop(described, env);
    for (let i = 0; i < rounds; i += 1) {
      const r = await rolloutSync(sandbox, env);
      if (r.exitCode !== 0) throw new Error(`rollout sync exited ${r.exitCode}`);
      const next = await bareLoop(described, env);
      const b = next.wallMs < previous.wallMs ? next : previous;
      previous = next;
      runs.push({ rollout: r, bare: b });
      log?.(
        `side by side ${i + 1}/${rounds}: rollout ${(r.wallMs / 1000).toFixed(2)} s (run ${(r.runMs / 1000).toFixed(2)} s), bare loop ${(b.wallMs / 1000).toFixed(2)} s (run ${(b.runMs / 1000).toFixed(2)} s)`,
      );
    }
  } finally {
    fs.rmSync(stateHome, { recursive: true, force: true });
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const batches = runs[0].bare.batches;
  const rolloutMs = med(runs.map((r) => r.rollout.wallMs));
  const runMs = med(runs.map((r) => r.rollout.runMs));
  const bareMs = med(runs.map((r) => r.bare.wallMs));
  // Why: run-only against run-only: the bare loop's own time from its first host, not its whole process.
  const bareRunMs = med(runs.map((r) => r.bare.runMs));
  return {
    hosts: sandbox.hosts.length,
    batchesPerCluster: batches,
    rounds,
    rolloutMs,
    runMs,
    bareMs,
    bareRunMs,
    ratio: rolloutMs / bareMs,
    perBatchMs: (rolloutMs - bareMs) / batches,
    perBatchRunMs: (runMs - bareRunMs) / batches,
  };
}
