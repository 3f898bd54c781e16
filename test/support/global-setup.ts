/**
 * Vitest global setup: every test run gets a temp dir of its own (TMPDIR for the workers, so every
 * mkdtemp of a test lands in it), and the teardown stops any process still running from it (a
 * sandbox, etcd, sshd or CLI a failed test left behind) before removing it. A reaper does the same
 * if this process dies without its teardown (SIGKILL, a crash). No process outlives a run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cmdline, processesMentioning, startReaper, stopProcesses } from '../../scripts/lib/sandbox.mjs';

let runDir: string | undefined;
let reaper: { stop(): Promise<void> } | undefined;

export function setup(): void {
  // Why: short, so unix socket paths under it (HAProxy's runtime API) stay far below 108 bytes.
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-'));
  process.env['TMPDIR'] = runDir;
  // Why: a SIGKILLed runner never reaches teardown; its workers and their servers all name runDir (TMPDIR).
  reaper = startReaper(runDir, { removeDir: true });
}

export async function teardown(): Promise<void> {
  if (!runDir) return;
  // Why: first, so the reaper (whose command line names runDir) is not counted among what a test left.
  await reaper?.stop();
  const left = processesMentioning(runDir);
  if (left.length > 0) {
    process.stderr.write(
      `test teardown: stopping ${left.length} processes a test left running:\n${left.map((pid) => `  ${pid} ${cmdline(pid).slice(0, 160)}`).join('\n')}\n`,
    );
    await stopProcesses(left.map((pid) => ({ pid })));
  }
  fs.rmSync(runDir, { recursive: true, force: true });
}
