// Planner benchmark: load + validate a generated 10,000-host inventory, then planRollout on it.
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { loadInventory } from '../dist/inventory/load.js';
import { planRollout } from '../dist/planner/plan.js';
import { poolKeyId } from '../dist/pool/types.js';
import { median, msSince, quantile } from './stats.js';

const DCS = ['eqiad', 'codfw'];
const CLUSTERS_PER_DC = 25;
const HOSTS_PER_CLUSTER = 200;

/** The inventory text: 2 DCs × 25 clusters × 200 hosts, each host written out with its address. */
export function inventoryYaml() {
  const lines = [
    'etcd: { endpoints: ["http://127.0.0.1:2379"], prefix: /conftool/v1/pools, dialTimeout: 5 }',
    'run: { failureBudget: 3, parallelClusters: 5, sshConcurrency: 64, capacityWait: 60 }',
    'defaults:',
    '  service: php-fpm',
    '  weight: 10',
    '  batch: { size: [1, 10%, 25%] }',
    '  minPooled: 70%',
    '  ssh: { user: deploy, identityFile: /etc/rollout/id_ed25519, knownHosts: /etc/rollout/known_hosts }',
    '  restart: { command: "systemctl restart php8.2-fpm", emergencyCommand: "systemctl kill-restart php8.2-fpm", timeout: 60 }',
    '  drain: { mode: status, statusUrl: "http://{address}:9181/fpm-status?json", timeout: 30 }',
    '  health: { type: http, url: "http://{address}/w/health.php", expectStatus: 200, releaseHeader: X-Release }',
    'datacenters:',
  ];
  let n = 0;
  for (const [d, dc] of DCS.entries()) {
    lines.push(`  ${dc}:`, '    clusters:');
    for (let c = 1; c <= CLUSTERS_PER_DC; c += 1) {
      lines.push(`      cluster${String(c).padStart(2, '0')}:`, '        hosts:');
      for (let h = 0; h < HOSTS_PER_CLUSTER; h += 1) {
        n += 1;
        const address = `10.${64 + d}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
        lines.push(`          - { name: mw${100000 + n}.${dc}.wmnet, address: ${address} }`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** Pool state as etcd might hold it: mostly pooled, 2% depooled by someone, 1% inactive. */
function snapshotFor(inventory) {
  const snapshot = new Map();
  let i = 0;
  for (const dc of inventory.datacenters) {
    for (const cluster of dc.clusters) {
      for (const host of cluster.hosts) {
        i += 1;
        const key = { dc: host.dc, cluster: host.cluster, service: host.settings.service, host: host.name };
        const pooled = i % 100 === 0 ? 'inactive' : i % 50 === 0 ? 'no' : 'yes';
        snapshot.set(poolKeyId(key), { key, state: 'present', value: { pooled, weight: 10 }, modRevision: i });
      }
    }
  }
  return snapshot;
}

/** Runs the benchmark; `runs` is the number of timed repetitions of each step. */
export async function benchPlanner({ runs = 15, log }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollout-bench-inv-'));
  const file = path.join(dir, 'inventory.yaml');
  try {
    const inventoryText = inventoryYaml();
    writeFileSync(file, inventoryText);
    const bytes = statSync(file).size;
    const loads = [];
    let inventory;
    const parses = [];
    // Why: a 640 KiB file takes seconds to load, so 3 loads; the YAML parse alone shows where it goes.
    for (let r = 0; r < 3; r += 1) {
      let start = process.hrtime.bigint();
      inventory = loadInventory(file);
      loads.push(msSince(start));
      start = process.hrtime.bigint();
      parseDocument(inventoryText);
      parses.push(msSince(start));
    }
    const hosts = inventory.datacenters.flatMap((d) => d.clusters).reduce((sum, c) => sum + c.hosts.length, 0);
    const snapshot = snapshotFor(inventory);
    const selection = { kind: 'sync', dcs: [], clusters: [] };
    const plans = { graceful: [], emergency: [] };
    let batches = 0;
    for (const emergency of [false, true]) {
      const options = { emergency, batchSize: undefined };
      planRollout({ inventory, selection, snapshot, options }); // warm-up: JIT
      for (let r = 0; r < runs; r += 1) {
        const start = process.hrtime.bigint();
        const plan = planRollout({ inventory, selection, snapshot, options });
        plans[emergency ? 'emergency' : 'graceful'].push(msSince(start));
        if (!emergency) batches = plan.clusters.reduce((sum, c) => sum + c.batches.length, 0);
      }
    }
    log?.(`planner: ${hosts} hosts, ${(bytes / 1024).toFixed(0)} KiB of YAML, ${batches} batches`);
    return {
      hosts,
      clusters: DCS.length * CLUSTERS_PER_DC,
      yamlBytes: bytes,
      batches,
      runs,
      loadMs: { median: median(loads), max: Math.max(...loads), samples: loads.length },
      yamlParseMs: { median: median(parses), samples: parses.length },
      planMs: { median: median(plans.graceful), p95: quantile(plans.graceful, 0.95) },
      planEmergencyMs: { median: median(plans.emergency), p95: quantile(plans.emergency, 0.95) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
