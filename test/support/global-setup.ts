/**
 * Vitest global setup: every test run gets a temp dir of its own (TMPDIR for the workers, so every
 * mkdtemp of a test lands in it), and the teardown stops any process still running from it (a
 * sandbox, etcd, sshd or CLI a failed test left behind) before removing it. No process outlives a run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cmdline, processesMentioning, stopProcesses } from '../../scripts/lib/sandbox.mjs';

let runDir: string | undefined;

export function setup(): void {
  // Why: short, so unix socket paths under it (HAProxy's runtime API) stay far below 108 bytes.
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rot-'));
  process.env['TMPDIR'] = runDir;
}

export async function teardown(): Promise<void> {
  if (!runDir) return;
  const left = processesMentioning(runDir);
  if (left.length > 0) {
    process.stderr.write(
      `test teardown: stopping ${left.length} processes a test left running:\n${left.map((pid) => `  ${pid} ${cmdline(pid).slice(0, 160)}`).join('\n')}\n`,
    );
    await stopProcesses(left.map((pid) => ({ pid })));
  }
  fs.rmSync(runDir, { recursive: true, force: true });
}
