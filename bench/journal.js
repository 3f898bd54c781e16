// Journal bound check (opt-in: `node bench/run.js journal`): many consecutive clean runs leave no
// journal keys in etcd, and `rollout status` still answers after them.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectEtcd } from '../dist/pool/etcd-kv.js';
import { loadInventory } from '../dist/inventory/load.js';
import { msSince } from './stats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'bin', 'rollout.js');

function cli(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

export async function benchJournal({ sandbox, runs = 100, log }) {
  const stateHome = mkdtempSync(path.join(os.tmpdir(), 'rollout-bench-journal-'));
  const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1' };
  const first = sandbox.hosts[0];
  const kv = await connectEtcd(loadInventory(sandbox.inventoryFile).etcd);
  try {
    let failed = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < runs; i += 1) {
      // Why: one cluster of one datacenter per run keeps 100 runs to a couple of minutes; the journal path is the same.
      const r = await cli(['restart', first.cluster, first.dc, '-i', sandbox.inventoryFile, '--reason', `journal bound ${i + 1}`], env);
      if (r.code !== 0) {
        failed += 1;
        log?.(`journal: run ${i + 1} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      }
    }
    const wallMs = msSince(start);
    const left = await kv.list('/rollout/v1/runs/');
    const statusStart = process.hrtime.bigint();
    const status = await cli(['status', '-i', sandbox.inventoryFile], env);
    const statusMs = msSince(statusStart);
    log?.(`journal: ${runs} runs (${failed} failed) in ${(wallMs / 1000).toFixed(0)} s; ${left.length} journal keys left; status exit ${status.code} in ${statusMs.toFixed(0)} ms`);
    return { runs, failed, wallMs, journalKeysLeft: left.length, statusExit: status.code, statusMs };
  } finally {
    await kv.close();
    rmSync(stateHome, { recursive: true, force: true });
  }
}
