#!/usr/bin/env node
// The benchmarks: `node bench/run.js [planner|ssh|rollout|etcd]…` (all by default), after
// `npm run build`. Prints a table and writes bench/results/latest.json. Loopback only: the
// ssh, etcd and rollout benchmarks bring up their own sandbox (temp dir, net 127.0.77) and
// always take it down.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sandboxDown, sandboxUp } from '../scripts/lib/sandbox.mjs';
import { benchEtcd } from './etcd.js';
import { benchJournal } from './journal.js';
import { benchPlanner } from './planner.js';
import { benchRollout } from './rollout.js';
import { benchScale } from './scale.js';
import { benchSideBySide } from './side-by-side.js';
import { benchSsh } from './ssh.js';
import { benchSshReference } from './ssh-reference.js';
import { fmt } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ALL = ['planner', 'ssh', 'etcd', 'rollout', 'side-by-side', 'scale'];
/** Run only when named: slower checks that are not part of the default benchmark set. */
const OPT_IN = ['journal'];
const NET = '127.0.77';
const log = (message) => process.stderr.write(`  ${message}\n`);
/** Takes the sandbox down; set while one is up. */
let cleanup = null;

// Why: an error thrown outside our promises (e.g. an EPIPE in a child's stdin) must not leave the fleet running.
let failing = false;
process.on('uncaughtException', (error) => {
  // Why: once only: with stderr a closed pipe (`| head`), reporting the error would raise another.
  if (failing) return;
  failing = true;
  try {
    process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  } catch {
    // Nowhere left to report it.
  }
  Promise.resolve(cleanup?.()).finally(() => process.exit(1));
});

/** `--hosts N`, `--mode emergency|graceful`, `--slow-fraction F --slow-ms MS` (of the scale benchmark), taken out of argv. */
function parseFlags(argv) {
  const flags = { hosts: 1000, modes: ['emergency', 'graceful'], slow: { fraction: 0, ms: 2000 } };
  const rest = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--hosts') flags.hosts = Number(argv[++i]);
    else if (argv[i] === '--mode') flags.modes = [argv[++i]];
    else if (argv[i] === '--slow-fraction') flags.slow.fraction = Number(argv[++i]);
    else if (argv[i] === '--slow-ms') flags.slow.ms = Number(argv[++i]);
    else rest.push(argv[i]);
  }
  if (!(flags.slow.fraction >= 0 && flags.slow.fraction <= 1)) fail('--slow-fraction: expected a number from 0 to 1');
  if (!Number.isInteger(flags.slow.ms) || flags.slow.ms < 0 || flags.slow.ms > 600_000)
    fail('--slow-ms: expected a whole number of milliseconds from 0 to 600000');
  if (!Number.isInteger(flags.hosts) || flags.hosts < 20 || flags.hosts > 20000)
    fail('--hosts: expected a whole number from 20 to 20000');
  if (!flags.modes.every((m) => m === 'emergency' || m === 'graceful')) fail('--mode: expected emergency or graceful');
  return { flags, rest };
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function parseNames(argv) {
  const unknown = argv.filter((a) => !ALL.includes(a) && !OPT_IN.includes(a));
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown benchmark ${unknown.join(', ')}; choose from ${[...ALL, ...OPT_IN].join(', ')}\n`,
    );
    process.exit(2);
  }
  return argv.length === 0 ? ALL : [...ALL, ...OPT_IN].filter((n) => argv.includes(n));
}

/** [section, metric, value, unit] rows for the table. */
function rows(results) {
  const out = [];
  const p = results.planner;
  if (p) {
    out.push([
      'planner',
      `loadInventory (${p.hosts} hosts, ${(p.yamlBytes / 1024).toFixed(0)} KiB YAML), median of ${p.loadMs.samples}`,
      fmt(p.loadMs.median),
      'ms',
    ]);
    out.push(['planner', '  of which YAML parse alone', fmt(p.yamlParseMs.median), 'ms']);
    out.push([
      'planner',
      `planRollout graceful, median of ${p.runs} (p95)`,
      `${fmt(p.planMs.median)} (${fmt(p.planMs.p95)})`,
      'ms',
    ]);
    out.push([
      'planner',
      `planRollout emergency, median of ${p.runs} (p95)`,
      `${fmt(p.planEmergencyMs.median)} (${fmt(p.planEmergencyMs.p95)})`,
      'ms',
    ]);
  }
  const s = results.ssh;
  if (s) {
    out.push([
      'ssh',
      `first exec on a fresh connection, median of ${s.firstConnectMs.samples} (p95)`,
      `${fmt(s.firstConnectMs.median)} (${fmt(s.firstConnectMs.p95)})`,
      'ms',
    ]);
    out.push([
      'ssh',
      `exec on the cached connection, median of ${s.reusedMs.samples} (p95)`,
      `${fmt(s.reusedMs.median)} (${fmt(s.reusedMs.p95)})`,
      'ms',
    ]);
    if (s.bashrcMs !== null)
      out.push(['ssh', "  of which: ~/.bashrc that sshd's bash sources per command (local)", fmt(s.bashrcMs), 'ms']);
    const r = s.reference;
    out.push(['ssh', `OpenSSH \`ssh … true\` to a sandbox host, median of ${r.runs}`, fmt(r.sandboxMs), 'ms']);
    out.push(['ssh', '  to a bare sshd that skips the rc files (SetEnv SHLVL=1)', fmt(r.bareMs), 'ms']);
    out.push(['ssh', '  to a bare sshd that reads them (what the sandbox paid before)', fmt(r.bareWithRcMs), 'ms']);
    out.push(['ssh', '  sandbox / bare (target ≤ 1.5)', r.ratio.toFixed(2), '×']);
    for (const [label, f] of [
      ['1 host', s.oneHost],
      [`${s.fleet.hosts} hosts`, s.fleet],
    ]) {
      out.push(['ssh', `${f.execs} × true, ${label}, concurrency ${f.concurrency}: wall`, fmt(f.wallMs), 'ms']);
      out.push(['ssh', `  throughput (failed: ${f.failed})`, fmt(f.execsPerSecond), 'exec/s']);
    }
  }
  const e = results.etcd;
  if (e) {
    out.push([
      'etcd',
      `CAS write, ${e.casMs.samples} sequential: median (p95)`,
      `${fmt(e.casMs.median)} (${fmt(e.casMs.p95)})`,
      'ms',
    ]);
    out.push(['etcd', `${e.parallel.writes} CAS writes in parallel: wall`, fmt(e.parallel.wallMs), 'ms']);
    out.push(['etcd', '  throughput', fmt(e.parallel.writesPerSecond), 'writes/s']);
    out.push([
      'etcd',
      'read of a 200-key cluster: median (p95)',
      `${fmt(e.read200KeysMs.median)} (${fmt(e.read200KeysMs.p95)})`,
      'ms',
    ]);
  }
  const r = results.rollout;
  if (r) {
    for (const [label, ph] of [
      ['sync', r.graceful],
      ['sync --emergency', r.emergency],
    ]) {
      const lb = ph.lbConfirmed > 0 ? `, ${ph.lbConfirmed} depools LB-confirmed` : '';
      out.push([
        'rollout',
        `${label}: wall (exit ${ph.exitCode}, restarted ${ph.restarted}/${ph.hosts}${lb})`,
        fmt(ph.wallSeconds),
        's',
      ]);
      out.push([
        'rollout',
        `  requests served / failed (load concurrency ${r.loadConcurrency})`,
        `${ph.ok} / ${ph.failed}`,
        '',
      ]);
      out.push([
        'rollout',
        '  per-host time: median (max)',
        `${fmt(ph.perHostMs.median / 1000)} (${fmt(ph.perHostMs.max / 1000)})`,
        's',
      ]);
    }
  }
  const sb = results.sideBySide;
  if (sb) {
    out.push([
      'side-by-side',
      `rollout sync, ${sb.hosts} sandbox hosts, ${sb.batchesPerCluster} batches a cluster: wall, median of ${sb.rounds}`,
      fmt(sb.rolloutMs / 1000),
      's',
    ]);
    out.push(['side-by-side', '  of which the run itself (run.finished durationMs)', fmt(sb.runMs / 1000), 's']);
    out.push([
      'side-by-side',
      '  bare loop (depool, LB applied, drain, restart, first good probe, repool, LB applied)',
      fmt(sb.bareMs / 1000),
      's',
    ]);
    out.push(['side-by-side', '  rollout / bare', sb.ratio.toFixed(2), '×']);
    out.push([
      'side-by-side',
      "  rollout's cost per batch: wall (run only) (target ≤ 0.1 s)",
      `${fmt(sb.perBatchMs / 1000)} (${fmt(sb.perBatchRunMs / 1000)})`,
      's',
    ]);
  }
  const sc = results.scale;
  if (sc) {
    const stragglers = sc.slow?.fraction > 0 ? `, ${sc.slow.fraction * 100}% stragglers of ${sc.slow.ms} ms` : '';
    for (const r of sc.results) {
      const label = r.mode === 'emergency' ? 'sync --emergency' : 'sync';
      const runs = (b) => b.runsMs.map((ms) => fmt(ms / 1000)).join(' / ');
      const line = (what, ro) =>
        out.push([
          'scale',
          `${label} --batch-mode ${what}, ${r.hosts} hosts${stragglers}: wall, faster of 2 (${runs(ro)} s; exit ${ro.exitCode}, done ${ro.ok}, failed ${ro.failed})`,
          fmt(ro.wallMs / 1000),
          's',
        ]);
      line('window', r.window);
      line('barrier', r.rollout);
      out.push([
        'scale',
        `  bare ${r.mode} reference, sliding window, whole process: wall, faster of 2 (${runs(r.bareWindow)} s)`,
        fmt(r.bareWindow.wallMs / 1000),
        's',
      ]);
      out.push([
        'scale',
        `  bare ${r.mode} reference, same batches, whole process: wall, faster of 2 (${runs(r.bare)} s)`,
        fmt(r.bare.wallMs / 1000),
        's',
      ]);
      out.push(['scale', '  rollout window / bare window', r.windowRatio.toFixed(2), '×']);
      out.push(['scale', '  rollout window / bare barrier', r.windowToBareBarrier.toFixed(2), '×']);
      out.push(['scale', '  rollout barrier / bare barrier', r.ratio.toFixed(2), '×']);
      out.push(['scale', '  rollout barrier / rollout window (speed-up)', r.speedup.toFixed(2), '×']);
      out.push([
        'scale',
        '  CPU, user + system (rollout window / barrier; bare barrier / window)',
        `${r.window.cpuS.toFixed(2)} / ${r.rollout.cpuS.toFixed(2)}; ${r.bare.cpuS.toFixed(2)} / ${r.bareWindow.cpuS.toFixed(2)}`,
        's',
      ]);
      out.push([
        'scale',
        '  bare reference max RSS (barrier / window)',
        `${fmt(r.bare.maxRssMiB)} / ${fmt(r.bareWindow.maxRssMiB)}`,
        'MiB',
      ]);
      for (const [what, ro] of [
        ['window', r.window],
        ['barrier', r.rollout],
      ]) {
        out.push(['scale', `  rollout ${what} max RSS`, fmt(ro.maxRssMiB), 'MiB']);
        out.push([
          'scale',
          `  rollout ${what}: SSH sessions / connections per host (most open at once: ${ro.maxOpenConnections})`,
          `${ro.sessionsPerHost.toFixed(2)} / ${ro.connectionsPerHost.toFixed(2)}`,
          '',
        ]);
        out.push([
          'scale',
          `  rollout ${what}: etcd requests per host (${Object.entries(ro.etcdRequests)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`,
          ro.etcdRequestsPerHost.toFixed(2),
          '',
        ]);
      }
    }
  }
  const j = results.journal;
  if (j) {
    out.push([
      'journal',
      `${j.runs} consecutive \`rollout restart\` runs: wall (failed: ${j.failed})`,
      fmt(j.wallMs / 1000),
      's',
    ]);
    out.push(['journal', '  journal keys left under /rollout/v1/runs/', String(j.journalKeysLeft), '']);
    out.push(['journal', `  then \`rollout status\`: exit ${j.statusExit}, wall`, fmt(j.statusMs), 'ms']);
  }
  return out;
}

function printTable(table) {
  const w = [0, 1, 2].map((i) => Math.max(...table.map((row) => row[i].length)));
  process.stdout.write('\n');
  for (const [section, metric, value, unit] of table) {
    process.stdout.write(`${section.padEnd(w[0])}  ${metric.padEnd(w[1])}  ${value.padStart(w[2])} ${unit}\n`);
  }
}

async function main() {
  const { flags, rest } = parseFlags(process.argv.slice(2));
  const names = parseNames(rest);
  const started = Date.now();
  const results = {};
  if (names.includes('planner')) {
    log('planner: generating and loading 10,000 hosts');
    results.planner = await benchPlanner({ log });
  }
  if (names.includes('scale')) {
    log(`scale: ${flags.hosts} simulated hosts, ${flags.modes.join(' and ')}`);
    results.scale = await benchScale({ hosts: flags.hosts, modes: flags.modes, slow: flags.slow, log });
  }
  const needSandbox = names.filter((n) => n !== 'planner' && n !== 'scale');
  if (needSandbox.length > 0) {
    // Why: short path (unix socket limit), own net: never collides with a default sandbox.
    const dir = mkdtempSync('/tmp/rollout-bench-');
    let stopping = false;
    const down = async () => {
      if (stopping) return;
      stopping = true;
      log(`sandbox down (${dir})`);
      await sandboxDown({ dir });
    };
    cleanup = down;
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => down().finally(() => process.exit(130)));
    try {
      log(`sandbox up in ${dir} on ${NET}.x`);
      const sandbox = await sandboxUp({ dir, net: NET, install: false, log, diesWith: process.pid });
      if (names.includes('ssh'))
        results.ssh = { ...(await benchSsh({ sandbox, log })), reference: await benchSshReference({ sandbox, log }) };
      if (names.includes('etcd')) results.etcd = await benchEtcd({ sandbox, log });
      if (names.includes('rollout')) results.rollout = await benchRollout({ sandbox, log });
      if (names.includes('side-by-side')) results.sideBySide = await benchSideBySide({ sandbox, log });
      if (names.includes('journal')) results.journal = await benchJournal({ sandbox, log });
    } finally {
      await down();
    }
  }
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  const output = {
    date: new Date().toISOString(),
    machine,
    benchmarks: names,
    totalSeconds: (Date.now() - started) / 1000,
    results,
  };
  printTable(rows(results));
  process.stdout.write(
    `\n${machine.cpus} × ${machine.cpuModel}, node ${machine.node}; total ${output.totalSeconds.toFixed(0)} s\n`,
  );
  mkdirSync(path.join(HERE, 'results'), { recursive: true });
  const file = path.join(HERE, 'results', 'latest.json');
  writeFileSync(file, JSON.stringify(output, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file) || file}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
