// The demo's body (scripts/demo): sandbox up, load through HAProxy, `rollout sync`, then
// `rollout sync --emergency --yes`, and the two side by side, and an HTML report of each run with
// the load overlaid (`rollout report`, in --reports, default test-results/demo/). Loopback only, bounded in time.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAllBackends, masterPids } from './fleet-load.mjs';
import { sandboxDown, sandboxUp, resolveDir } from './sandbox.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(REPO, 'bin', 'rollout.js');
const { values: opts } = parseArgs({
  options: {
    keep: { type: 'boolean' },
    dir: { type: 'string' },
    concurrency: { type: 'string' },
    reports: { type: 'string' },
    net: { type: 'string' },
  },
});
const REPORTS = path.resolve(opts.reports ?? path.join(REPO, 'test-results', 'demo'));
const say = (text) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);

function rollout(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'inherit', cwd: REPO });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function phase(sandbox, title, name, args) {
  say(title);
  const log = path.join(REPORTS, `${name}.log`);
  fs.rmSync(log, { force: true }); // Why: a run log appends; the report should show this run only.
  const before = await masterPids(sandbox);
  const load = loadAllBackends(sandbox, { concurrency: Number(opts.concurrency ?? 8), maxSeconds: 600, sampleMs: 250 }); // Why 250 ms: a demo run lasts seconds
  await new Promise((r) => setTimeout(r, 1000));
  const started = Date.now();
  const exitCode = await rollout([...args, '--log-file', log]);
  const seconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const traffic = await load.stop();
  const after = await masterPids(sandbox);
  const restarted = sandbox.hosts.filter(
    (h) => before[h.name] && after[h.name] && before[h.name] !== after[h.name],
  ).length;
  process.stdout.write('\nPHP-FPM master pids (before → after):\n');
  for (const h of sandbox.hosts)
    process.stdout.write(
      `  ${h.name.padEnd(22)} ${String(before[h.name]).padStart(7)} → ${String(after[h.name]).padEnd(7)}${before[h.name] !== after[h.name] ? '' : '  (not restarted)'}\n`,
    );
  process.stdout.write(
    `requests served: ${traffic.ok}, failed: ${traffic.failed}${traffic.failed ? ` ${JSON.stringify(traffic.failures)}` : ''}; exit code ${exitCode}; ${seconds.toFixed(1)} s\n`,
  );
  const figures = path.join(REPORTS, `${name}-load.json`);
  fs.writeFileSync(figures, `${JSON.stringify({ intervalMs: traffic.sampleMs, samples: traffic.samples })}\n`);
  await rollout(['report', log, '--load', figures, '-o', path.join(REPORTS, `${name}.html`)]);
  // Why: after the load figures, whose own `seconds` (the load loop's) must not replace the run's.
  return { title, exitCode, restarted, hosts: sandbox.hosts.length, ...traffic, seconds };
}

async function main() {
  const dir = resolveDir(opts.dir);
  say('sandbox up: etcd, HAProxy, LB agents, and per host sshd + nginx + PHP-FPM on 127.0.0.x');
  const sandbox = await sandboxUp({
    dir,
    ...(opts.net ? { net: opts.net } : {}),
    log: (m) => process.stdout.write(`  ${m}\n`),
  });
  process.stdout.write(
    `  ${sandbox.hosts.length} hosts; HAProxy ${sandbox.haproxy.url}; inventory ${sandbox.inventoryFile}\n`,
  );
  let code;
  fs.mkdirSync(REPORTS, { recursive: true });
  try {
    const inv = ['-i', sandbox.inventoryFile];
    await rollout(['plan', ...inv]);
    const graceful = await phase(
      sandbox,
      'rollout sync: depool → LB confirms → drain → restart → health → repool, under load',
      'sync',
      ['sync', ...inv, '--reason', 'demo'],
    );
    const emergency = await phase(
      sandbox,
      'rollout sync --emergency --yes: hard restart, same batches, no depool, under load',
      'emergency',
      ['sync', '--emergency', '--yes', ...inv, '--reason', 'demo'],
    );
    say('side by side');
    const row = (label, f) =>
      `  ${label.padEnd(22)} ${String(f(graceful)).padStart(12)} ${String(f(emergency)).padStart(12)}\n`;
    process.stdout.write(`  ${''.padEnd(22)} ${'sync'.padStart(12)} ${'--emergency'.padStart(12)}\n`);
    process.stdout.write(row('hosts restarted', (p) => `${p.restarted}/${p.hosts}`));
    process.stdout.write(row('requests served', (p) => p.ok));
    process.stdout.write(row('requests failed', (p) => p.failed));
    process.stdout.write(row('wall time', (p) => `${p.seconds.toFixed(1)} s`));
    process.stdout.write(row('exit code', (p) => p.exitCode));
    code = graceful.exitCode === 0 && graceful.failed === 0 && graceful.restarted === graceful.hosts ? 0 : 1;
  } finally {
    if (opts.keep) process.stdout.write(`\nsandbox kept in ${dir} (scripts/sandbox down to stop it)\n`);
    else {
      await sandboxDown({ dir });
      process.stdout.write('\nsandbox down\n');
    }
  }
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`demo: ${error.stack ?? error.message}`);
    process.exitCode = 1;
  },
);
