// A sandbox started by a test run (or any owner process) dies with it, and the next sandbox on the
// same loopback net stops what a dead owner left there (its reaper killed too, say by a `kill -9`).
import fs from 'node:fs';
import path from 'node:path';
import { paths } from './layout.mjs';
import { identity, isAlive, readPid, sleep } from './procs.mjs';
import { liveReaper, reapGroup, startReaper } from './reaper.mjs';

// Why: fixed, not os.tmpdir(): every test run has a TMPDIR of its own, and the record must outlive it.
const NETS_DIR = '/tmp/rollout-sandbox-nets';

const reaperPidFile = (dir) => path.join(paths(dir).run, 'reaper.pid');

/** Starts the sandbox's reaper for `owner` and records the net as this sandbox's. */
export async function ownSandbox(dir, net, owner) {
  await stopSandboxReaper(dir);
  const reaper = startReaper(dir, { owner });
  fs.mkdirSync(paths(dir).run, { recursive: true });
  fs.writeFileSync(reaperPidFile(dir), `${reaper.pid}\n`);
  fs.mkdirSync(NETS_DIR, { recursive: true });
  fs.writeFileSync(path.join(NETS_DIR, net), `${JSON.stringify({ dir, owner: identity(owner) })}\n`);
}

/** Ends the reaper of the sandbox in `dir`, if one runs (`down` stops the servers itself), and waits for it (2 s at most). */
export async function stopSandboxReaper(dir) {
  const pid = liveReaper(readPid(reaperPidFile(dir)), dir);
  if (!pid) return;
  const id = identity(pid);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && isAlive(pid) && identity(pid) === id) await sleep(20);
}

/**
 * Stops what an earlier sandbox left on `net` when its owner is gone (a pid with another start time
 * counts as gone). A sandbox without an owner (`scripts/sandbox up`) or with a live one is left alone.
 * @returns {Promise<{ dir: string, pids: number[] } | undefined>}
 */
export async function reapOrphanOnNet(net, dir) {
  let record;
  try {
    record = JSON.parse(fs.readFileSync(path.join(NETS_DIR, net), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof record?.dir !== 'string' || typeof record.owner !== 'string' || record.dir === dir) return undefined;
  const ownerPid = Number(record.owner.split('@')[0]);
  if (isAlive(ownerPid) && identity(ownerPid) === record.owner) return undefined;
  const pids = await reapGroup(record.dir);
  fs.rmSync(path.join(NETS_DIR, net), { force: true });
  return { dir: record.dir, pids };
}
