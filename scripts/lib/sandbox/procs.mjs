// Process bookkeeping for the sandbox: start detached daemons with pid files, tell live from dead
// by /proc (a zombie is dead: PID 1 here may reap orphans late), and stop exactly what we started.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { clearTimeout } from 'node:timers';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @returns {number | undefined} */
export function readPid(file) {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function procState(pid) {
  try {
    const m = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Alive = exists, not a zombie, and (when given) its command line contains `match` (guards against pid reuse). */
export function isAlive(pid, match) {
  if (!pid) return false;
  const state = procState(pid);
  if (state === undefined || state === 'Z' || state === 'X') return false;
  return match ? matches(cmdline(pid), match) : true;
}

// Why: a whole argument, so /tmp/a/etcd never matches /tmp/b/tmp/a/etcd2; "(" for PHP-FPM's process title.
const matches = (line, match) =>
  new RegExp(`(^|[\\s(])${match.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[\\s)]|$)`).test(line);

/** Live processes running binary `exe` with argument `match` (finds what a lost pid file no longer names). */
export function findProcesses(exe, match) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/exe`).replace(/ \(deleted\)$/, '') !== exe) continue;
    } catch {
      continue;
    }
    if (isAlive(Number(entry), match)) found.push(Number(entry));
  }
  return found;
}

/** Live processes (not this one) whose command line mentions `text`, e.g. a temp dir they run from. */
export function processesMentioning(text) {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .map(Number)
    .filter((pid) => isAlive(pid) && cmdline(pid).includes(text));
}

/** The command line of a live process, spaces for NULs ('' once it is gone). */
export { cmdline };

/** The live pid recorded in `pidFile`, if the process still runs `match`. */
export function livePid(pidFile, match) {
  const pid = readPid(pidFile);
  return pid && isAlive(pid, match) ? pid : undefined;
}

/** Start a long-running process in its own session, stdout+stderr appended to logFile. */
export async function spawnDaemon(command, args, { logFile, pidFile, env, cwd }) {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env: env ?? process.env, cwd });
  fs.closeSync(out);
  const pid = await new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`sandbox: cannot start ${command}: ${error.message}`)));
    child.once('spawn', () => resolve(child.pid));
  });
  child.unref();
  if (pidFile) fs.writeFileSync(pidFile, `${pid}\n`);
  return pid;
}

/** Run a command to completion; resolves { code, stdout, stderr }. */
export function run(command, args, { env, input, timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // Why: a child that exits before reading its stdin must not crash the caller with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** One line of /proc/<pid>/stat, split after the command name (field 3, the state, comes first). */
function statFields(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * A process's identity: pid plus its start time (clock ticks since boot). pid_max is 32768 and a
 * test run forks thousands of processes, so a pid alone may name someone else by the time we signal it.
 * @returns {string | undefined}
 */
export function identity(pid) {
  const fields = statFields(pid);
  return fields?.[19] === undefined ? undefined : `${pid}@${fields[19]}`;
}

function childrenMap() {
  const map = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(entry)?.[1]);
    if (!map.has(ppid)) map.set(ppid, []);
    map.get(ppid).push(Number(entry));
  }
  return map;
}

/** The pids of every live descendant of `pids`. */
export function descendants(pids) {
  const map = childrenMap();
  const found = [];
  const queue = [...pids];
  while (queue.length > 0) {
    for (const child of map.get(queue.shift()) ?? []) {
      if (!found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found.filter((pid) => isAlive(pid));
}

// Why: signal only the very process we looked at (same pid and start time), never a reused pid.
const same = (proc) => identity(proc.pid) === proc.id && isAlive(proc.pid);

function signal(proc, sig) {
  if (!same(proc)) return;
  try {
    process.kill(proc.pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * SIGTERM the given processes (and, afterwards, any descendant they left), SIGKILL whatever is
 * still alive after `graceMs`. Entries are { pid, match }; dead or reused pids are skipped, and
 * every process is signalled only while its pid still has the start time seen at the beginning.
 * @returns {Promise<number[]>} the pids that were signalled
 */
export async function stopProcesses(entries, { graceMs = 5000 } = {}) {
  const mains = entries.filter((e) => isAlive(e.pid, e.match)).map((e) => e.pid);
  const all = [...new Set([...mains, ...descendants(mains)])]
    .map((pid) => ({ pid, id: identity(pid) }))
    .filter((p) => p.id);
  for (const proc of all.filter((p) => mains.includes(p.pid))) signal(proc, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && all.some(same)) await sleep(100);
  for (const proc of all) signal(proc, 'SIGKILL');
  const hard = Date.now() + 2000;
  while (Date.now() < hard && all.some(same)) await sleep(50);
  return all.map((p) => p.pid);
}

/** A free TCP port on a loopback address, 127.0.0.1 by default (the kernel picks it). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** GET a loopback URL: resolves { status, headers, body } or rejects on a connection error. */
export function httpGet(url, { timeoutMs = 2000, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Poll `check` (async, truthy = ready) until it passes or `timeoutMs` ends; throws with `what`. */
export async function waitUntil(what, check, { timeoutMs = 10_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error.fatal) throw error;
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`sandbox: ${what} not ready after ${timeoutMs / 1000}s${last ? ` (last: ${last.message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export function tcpOpen(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
