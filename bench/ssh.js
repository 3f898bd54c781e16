// SSH benchmark: `true` over the ssh2 transport against the sandbox's real OpenSSH sshds.
// Every exec goes through the host's forced command (bin/ssh-session → sh -c), like a restart does.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSshTransport } from '../dist/transport/ssh.js';
import { median, msSince, quantile } from './stats.js';

const EXEC = { timeoutMs: 30_000 };
// Why: the fan-out measures throughput; a 2-core machine running 64 sessions needs more than 30 s.
const FAN_OUT_EXEC = { timeoutMs: 120_000 };

/**
 * What sshd adds to every command on this machine: it runs it as `bash -c`, and bash sources
 * ~/.bashrc when started by sshd. Median of 5 local runs; null when the login shell is not bash.
 */
function bashrcMs() {
  const rc = path.join(os.homedir(), '.bashrc');
  if (!existsSync(rc) || !(process.env.SHELL ?? '/bin/bash').endsWith('bash')) return null;
  const runs = [];
  for (let i = 0; i < 5; i += 1) {
    const start = process.hrtime.bigint();
    try {
      execFileSync('bash', ['-c', '. ~/.bashrc'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // A failing ~/.bashrc still cost its time.
    }
    runs.push(msSince(start));
  }
  return median(runs);
}

function targetOf(sandbox, host) {
  return {
    host: host.name,
    address: host.address,
    port: host.sshPort,
    user: sandbox.ssh.user,
    identityFile: sandbox.ssh.identityFile,
    knownHosts: sandbox.ssh.knownHosts,
    jumpHost: undefined,
    connectTimeoutSeconds: 10,
    acceptNewHostKeys: false,
  };
}

/** One exec, timed; a non-zero exit or an error counts as a failure. */
async function timedExec(transport, target, options = EXEC) {
  const start = process.hrtime.bigint();
  try {
    const result = await transport.exec(target, 'true', options);
    return {
      ms: msSince(start),
      ok: result.exitCode === 0,
      error: result.exitCode === 0 ? undefined : `exit ${result.exitCode}: ${result.stderr.trim().slice(0, 120)}`,
    };
  } catch (error) {
    return { ms: msSince(start), ok: false, error: error.code ?? error.message };
  }
}

/** `total` execs spread round-robin over `targets`, at most `concurrency` in flight, on a fresh transport. */
async function fanOut(targets, { total, concurrency }) {
  const transport = createSshTransport({ concurrency });
  try {
    const start = process.hrtime.bigint();
    const results = await Promise.all(
      Array.from({ length: total }, (_, i) => timedExec(transport, targets[i % targets.length], FAN_OUT_EXEC)),
    );
    const wallMs = msSince(start);
    const latencies = results.map((r) => r.ms);
    const errors = {};
    for (const r of results) if (!r.ok) errors[r.error] = (errors[r.error] ?? 0) + 1;
    return {
      execs: total,
      hosts: targets.length,
      concurrency,
      wallMs,
      execsPerSecond: total / (wallMs / 1000),
      failed: results.filter((r) => !r.ok).length,
      errors,
      latencyMs: { median: median(latencies), p95: quantile(latencies, 0.95) },
    };
  } finally {
    await transport.close();
  }
}

/** First-connect latency (fresh transport, connect + auth + exec) vs an exec on the cached connection. */
async function latency(targets, { samples }) {
  const first = [];
  const reused = [];
  for (let i = 0; i < samples; i += 1) {
    const transport = createSshTransport();
    try {
      const target = targets[i % targets.length];
      first.push((await timedExec(transport, target)).ms);
      for (let j = 0; j < 4; j += 1) reused.push((await timedExec(transport, target)).ms);
    } finally {
      await transport.close();
    }
  }
  return {
    firstConnectMs: { median: median(first), p95: quantile(first, 0.95), samples: first.length },
    reusedMs: { median: median(reused), p95: quantile(reused, 0.95), samples: reused.length },
  };
}

export async function benchSsh({ sandbox, total = 200, concurrency = 64, log }) {
  const targets = sandbox.hosts.map((h) => targetOf(sandbox, h));
  const warm = createSshTransport();
  await timedExec(warm, targets[0]); // Why: the first sshd fork pages in its binary; not what we measure.
  await warm.close();
  const lat = await latency(targets, { samples: 8 });
  const bashrc = bashrcMs();
  log?.(`ssh: first connect ${lat.firstConnectMs.median.toFixed(1)} ms, reused ${lat.reusedMs.median.toFixed(1)} ms`);
  const oneHost = await fanOut(targets.slice(0, 1), { total, concurrency });
  log?.(`ssh: ${total} execs on 1 host in ${oneHost.wallMs.toFixed(0)} ms`);
  const fleet = await fanOut(targets, { total, concurrency });
  log?.(`ssh: ${total} execs on ${targets.length} hosts in ${fleet.wallMs.toFixed(0)} ms`);
  for (const run of [oneHost, fleet])
    if (run.failed > 0) log?.(`ssh: ${run.failed} failed on ${run.hosts} host(s): ${JSON.stringify(run.errors)}`);
  return { ...lat, bashrcMs: bashrc, oneHost, fleet };
}
