// Journal bound check (opt-in: `node bench/run.js journal`): many consecutive clean runs leave no
// journal keys in etcd, and `rollout status` still answers after them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectEtcd } from '../dist/kv/etcd-kv.js';
import { loadInventory } from '../dist/inventory/load.js';
import { runCli } from './cli.js';
import { msSince } from './stats.js';

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
      const r = await runCli(
        ['restart', first.cluster, first.dc, '-i', sandbox.inventoryFile, '--reason', `journal bound ${i + 1}`],
        env,
        { timeoutMs: 120_000 },
      );
      if (r.exitCode !== 0) {
        failed += 1;
        log?.(`journal: run ${i + 1} exited ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      }
    }
    const wallMs = msSince(start);
    const left = await kv.list('/rollout/v1/runs/');
    const statusStart = process.hrtime.bigint();
    const status = await runCli(['status', '-i', sandbox.inventoryFile], env, { timeoutMs: 120_000 });
    const statusMs = msSince(statusStart);
    log?.(
      `journal: ${runs} runs (${failed} failed) in ${(wallMs / 1000).toFixed(0)} s; ${left.length} journal keys left; status exit ${status.exitCode} in ${statusMs.toFixed(0)} ms`,
    );
    return { runs, failed, wallMs, journalKeysLeft: left.length, statusExit: status.exitCode, statusMs };
  } finally {
    await kv.close();
    rmSync(stateHome, { recursive: true, force: true });
  }
}
