import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { loadAllBackends, masterPids } from '../../scripts/lib/fleet-load.mjs';
import type { LoadResult } from '../../scripts/lib/load.mjs';
import type { SandboxHost, SandboxState } from '../../scripts/lib/sandbox.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(REPO, 'bin', 'rollout.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI with the test inventory; never throws for a non-zero exit. */
export function rollout(args: readonly string[], inventory: string, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: { ...process.env, ROLLOUT_INVENTORY: inventory, XDG_STATE_HOME: path.dirname(inventory) },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code =
          error && typeof (error as { code?: unknown }).code === 'number'
            ? (error as { code: number }).code
            : error
              ? null
              : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Starts the CLI in the background (for lock and SIGKILL scenarios). */
export function spawnRollout(args: readonly string[], inventory: string): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ROLLOUT_INVENTORY: inventory, XDG_STATE_HOME: path.dirname(inventory) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

/** The --json event stream of a run. */
export function events(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The sandbox's inventory with test-friendly guard settings: 4 hosts a cluster and minPooled 25%
 * leave room for a host others depooled, and a short capacity wait keeps failures quick.
 */
export function writeTestInventory(sandbox: SandboxState, file: string): void {
  const doc = parseDocument(fs.readFileSync(sandbox.inventoryFile, 'utf8'));
  doc.setIn(['defaults', 'minPooled'], '25%');
  doc.setIn(['run', 'capacityWait'], 5);
  fs.writeFileSync(file, doc.toString());
}

export async function served(host: SandboxHost): Promise<{ release: string; masterPid: number } | null> {
  try {
    const res = await fetch(host.httpUrl, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as { release: string; masterPid: number };
  } catch {
    return null;
  }
}

export async function pids(sandbox: SandboxState): Promise<Map<string, number | null>> {
  return new Map(Object.entries(await masterPids(sandbox)));
}

/** Continuous load on every backend through HAProxy; `stop()` gives the totals. */
export function loadAll(sandbox: SandboxState): { stop(): Promise<LoadResult> } {
  return loadAllBackends(sandbox, { concurrency: 4, maxSeconds: 300 });
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
