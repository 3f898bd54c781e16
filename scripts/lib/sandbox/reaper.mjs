// Servers die with whoever started them, even on SIGKILL: a small detached process per server group
// watches its owner (pid plus start time: pid_max is 32768, pids are reused) and, once the owner is
// gone, stops every process of the group: those whose command line or environment names the group's
// directory, and their descendants. `node reaper.mjs <owner-pid> <owner-identity> <dir> [--remove-dir]`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cmdline, descendants, identity, isAlive, sleep, stopProcesses } from './procs.mjs';

const SELF = fileURLToPath(import.meta.url);
const POLL_MS = 250;

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function environ(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * Live processes (not this one, not `except`) whose command line names `dir` (the dir or a path under it) or
 * whose environment has a variable set to it (TMPDIR: a test worker, and what it spawned before it died).
 */
export function processesOf(dir, except = []) {
  const named = new RegExp(`${escape(dir)}(?=[/\\s)]|$)`);
  const inEnv = (entry) => {
    const value = entry.slice(entry.indexOf('=') + 1);
    return value === dir || value.startsWith(`${dir}/`);
  };
  const skip = new Set([process.pid, ...except]);
  const found = fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => !skip.has(pid) && isAlive(pid) && (named.test(cmdline(pid)) || environ(pid).some(inEnv)));
  return [...new Set([...found, ...descendants(found)])].filter((pid) => !skip.has(pid));
}

/** Stops every process of the group `dir` (SIGTERM, then SIGKILL after `graceMs`); returns their pids. */
export async function reapGroup(dir, { graceMs = 3000, except = [] } = {}) {
  const stopped = [];
  // Why: a second pass catches what a dying process started while the first pass waited.
  for (let pass = 0; pass < 2; pass += 1) {
    const left = processesOf(dir, except);
    if (left.length === 0) break;
    stopped.push(
      ...(await stopProcesses(
        left.map((pid) => ({ pid })),
        { graceMs },
      )),
    );
  }
  return stopped;
}

/**
 * Starts the reaper of group `dir` for `owner` (default: this process). `stop()` ends the reaper
 * alone (the owner stopped its servers itself). With `removeDir`, the reaper also deletes `dir`.
 * @returns {{ pid: number, stop(): Promise<void> }}
 */
export function startReaper(dir, { owner = process.pid, removeDir = false } = {}) {
  const id = identity(owner);
  if (!id) throw new Error(`reaper: no process ${owner} to watch`);
  const child = spawn(process.execPath, [SELF, String(owner), id, dir, ...(removeDir ? ['--remove-dir'] : [])], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return {
    pid: child.pid,
    /** Ends the reaper and resolves once it is gone (at most 2 s). */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => {
        child.once('exit', resolve);
        setTimeout(resolve, 2000).unref();
      });
      // Why: signal only the reaper we started, never a process that reused its pid.
      if (isAlive(child.pid, SELF)) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The reaper's pid as recorded in a pid file, if that process is still a reaper of `dir`. */
export function liveReaper(pid, dir) {
  return pid && isAlive(pid, SELF) && cmdline(pid).includes(dir) ? pid : undefined;
}

async function main([ownerArg, ownerId, dir, ...flags]) {
  const owner = Number(ownerArg);
  if (!Number.isInteger(owner) || !ownerId || !dir) {
    process.stderr.write('usage: reaper.mjs <owner-pid> <owner-identity> <dir> [--remove-dir]\n');
    process.exit(2);
  }
  // SIGTERM: the owner stopped its servers itself; nothing to do.
  process.on('SIGTERM', () => process.exit(0));
  while (isAlive(owner) && identity(owner) === ownerId) await sleep(POLL_MS);
  await reapGroup(dir);
  if (flags.includes('--remove-dir')) fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] === SELF) await main(process.argv.slice(2));
