// The built CLI as a child process, for the benchmarks: bounded in time, its output kept.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'bin', 'rollout.js');

/** Resolves exit code (128 if killed by a signal), stdout, stderr and the process's wall time. */
export function runCli(args, env, options = {}) {
  return runNode(CLI, args, env, options);
}

/** A node script as a whole process, timed from spawn to exit as the CLI is: what runCli resolves. */
export function runNode(script, args, env, { timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [script, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout,
        stderr,
        wallMs: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
  });
}

/** The NDJSON events of a `--json` run's stdout named `event`. */
export function eventsOf(stdout, event) {
  return stdout
    .split('\n')
    .filter((line) => line.includes(`"event":"${event}"`))
    .map((line) => JSON.parse(line));
}
