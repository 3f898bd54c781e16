// Fleet scale: the built CLI against a simulated fleet of in-process ssh2 servers (bench/sim-fleet.js,
// a child process of its own) and one real etcd, next to the bare ssh2 work (bench/scale-bare.js) in
// the same run. Wall time and max RSS come from the OS (GNU time's %M), SSH connections and sessions
// from the fleet, etcd requests from etcd's own gRPC counters.
//   node bench/run.js scale [--hosts N] [--mode emergency|graceful] [--slow-fraction F --slow-ms MS]
// Each mode runs rollout twice (--batch-mode window, then barrier) beside both bare references
// (the same barriers; a sliding window as wide as a batch).
import { execFile, fork, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { Etcd3 } from 'etcd3';
import { tcpOpen, waitUntil } from '../scripts/lib/sandbox/procs.mjs';
import { inventoryCacheDir } from '../dist/inventory/load.js';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
// Why: SCALE_CLI=/other/checkout/bin/rollout.js times another build on the same fleet and references.
const CLI = process.env.SCALE_CLI ?? path.join(HERE, '..', 'bin', 'rollout.js');
/** etcd of the scale bench; the fleet starts at 127.0.80.x (250 hosts a /24, SSH port 2022). */
const ETCD = { address: '127.0.120.2', client: 2379, peer: 2380 };
const SSH_PORT = 2022;
const PREFIX = '/conftool/v1/pools';
const SERVICE = 'php-fpm';

/** Map.groupBy, which Node 20 lacks. */
function groupBy(items, keyOf) {
  const out = new Map();
  for (const item of items) {
    const key = keyOf(item);
    if (!out.has(key)) out.set(key, []);
    out.get(key).push(item);
  }
  return out;
}

/** dcs × clusters × hosts, spread over loopback /24s from 127.0.80 on. */
export function scaleFleet(total) {
  const dcs = ['eqiad', 'codfw'];
  const clusters = total >= 5000 ? 10 : 5;
  const per = Math.ceil(total / (dcs.length * clusters));
  const hosts = [];
  for (const dc of dcs) {
    for (let c = 0; c < clusters; c += 1) {
      for (let h = 0; h < per && hosts.length < total; h += 1) {
        const i = hosts.length;
        hosts.push({
          name: `mw${i + 1}.${dc}.sim`,
          dc,
          cluster: `cluster${c + 1}`,
          address: `127.0.${80 + Math.floor(i / 250)}.${(i % 250) + 2}`,
          port: SSH_PORT,
        });
      }
    }
  }
  return hosts;
}

function inventoryYaml(hosts, files) {
  const lines = [
    'etcd:',
    `  endpoints: ["http://${ETCD.address}:${ETCD.client}"]`,
    `  prefix: ${PREFIX}`,
    '  dialTimeout: 5',
    'run:',
    '  failureBudget: 10',
    '  parallelClusters: 10',
    '  sshConcurrency: 200',
    '  capacityWait: 30',
    'defaults:',
    `  service: ${SERVICE}`,
    '  weight: 10',
    '  batch: { size: 10% }',
    '  minPooled: 50%',
    '  failureBudget: 2',
    `  ssh: { user: root, identityFile: "${files.clientKey}", knownHosts: "${files.knownHosts}", connectTimeout: 20 }`,
    '  restart: { command: "systemctl restart php-fpm", emergencyCommand: "systemctl hard-restart php-fpm", timeout: 60 }',
    '  drain: { mode: fixed, seconds: 0 }',
    '  health: { type: command, command: "systemctl status php-fpm", attempts: 3, interval: 1, timeout: 30 }',
    `  lb: { propagationSeconds: 0, confirmTimeout: 10 }`,
    'datacenters:',
  ];
  const byDc = groupBy(hosts, (h) => h.dc);
  for (const [dc, dcHosts] of byDc) {
    lines.push(`  ${dc}:`, '    clusters:');
    for (const [cluster, members] of groupBy(dcHosts, (h) => h.cluster)) {
      lines.push(`      ${cluster}:`, '        hosts:');
      for (const h of members) lines.push(`          - { name: ${h.name}, address: ${h.address}, port: ${h.port} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The batches rollout plans for `batch.size: 10%`: consecutive tenths (rounded up) of each cluster. */
function batchesOf(hosts) {
  const out = [];
  for (const members of groupBy(hosts, (h) => `${h.dc}/${h.cluster}`).values()) {
    const size = Math.ceil(members.length / 10);
    const batches = [];
    for (let i = 0; i < members.length; i += size) batches.push(members.slice(i, i + size));
    out.push(batches);
  }
  return out;
}

async function startEtcd(dir, log) {
  const dataDir = path.join(dir, 'etcd');
  const url = (port) => `http://${ETCD.address}:${port}`;
  // Why: an etcd left on the address (a bench killed with -9) would answer instead of ours, which would then fail to bind.
  if (await tcpOpen(ETCD.address, ETCD.client))
    throw new Error(`something already listens on ${url(ETCD.client)}: an etcd a killed scale bench left? (ss -ltnp)`);
  const child = spawn(
    'etcd',
    [
      '--name',
      'scale',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      url(ETCD.client),
      '--advertise-client-urls',
      url(ETCD.client),
      '--listen-peer-urls',
      url(ETCD.peer),
      '--initial-advertise-peer-urls',
      url(ETCD.peer),
      '--initial-cluster',
      `scale=${url(ETCD.peer)}`,
      '--quota-backend-bytes',
      String(2 * 1024 ** 3),
    ],
    { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'etcd.log'), 'a')] },
  );
  await waitUntil('scale etcd', () => tcpOpen(ETCD.address, ETCD.client));
  log(`etcd on ${url(ETCD.client)} (pid ${child.pid})`);
  return child;
}

/** Every gRPC request etcd has handled so far (its own Prometheus counters), by method. */
async function etcdRequests() {
  const text = await (await fetch(`http://${ETCD.address}:${ETCD.client}/metrics`)).text();
  const byMethod = {};
  for (const line of text.split('\n')) {
    const m = /^grpc_server_started_total\{[^}]*grpc_method="(\w+)"[^}]*\} (\S+)/.exec(line);
    if (m) byMethod[m[1]] = (byMethod[m[1]] ?? 0) + Number(m[2]);
  }
  return byMethod;
}

function diff(after, before) {
  const out = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

function startFleet(hosts, clientPublic, slow, log) {
  const child = fork(path.join(HERE, 'sim-fleet.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (message, field) =>
    new Promise((resolve, reject) => {
      const on = (reply) => {
        if (reply.error) {
          child.off('message', on);
          reject(new Error(`sim fleet: ${reply.error}`));
        } else if (reply[field] !== undefined) {
          child.off('message', on);
          resolve(reply);
        }
      };
      child.on('message', on);
      child.send(message);
    });
  const message = { hosts, restartMs: 60, slowFraction: slow.fraction, slowMs: slow.ms, clientKey: clientPublic };
  return ask(message, 'ready').then((ready) => {
    const stragglers =
      slow.fraction > 0 ? `, ${Math.round(hosts.length * slow.fraction)} restart in ${slow.ms} ms` : '';
    log(`simulated fleet: ${hosts.length} ssh2 servers (pid ${child.pid}), restarts in 60 ms${stragglers}`);
    return {
      child,
      hostKeys: ready.hostKeys,
      stats: async () => (await ask('stats', 'stats')).stats,
      reset: () => ask('reset', 'reset'),
    };
  });
}

/** Runs `command` under GNU time; resolves wall ms, max RSS MiB, exit code and stdout. */
async function timed(command, args, env) {
  const rss = path.join(os.tmpdir(), `rollout-scale-rss-${process.pid}-${Date.now()}`);
  const started = process.hrtime.bigint();
  const result = await run('/usr/bin/time', ['-f', '%M %U %S', '-o', rss, command, ...args], {
    env,
    maxBuffer: 256 * 1024 ** 2,
    timeout: 900_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e) => ({ code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const [kib, user, sys] = fs.readFileSync(rss, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  fs.rmSync(rss, { force: true });
  // Why: CPU seconds (user + system) compare rollout's own work with the reference's even on a busy machine, where wall time does not.
  return { ...result, wallMs, maxRssMiB: kib / 1024, cpuS: user + sys };
}

async function seedPool(hosts) {
  const client = new Etcd3({ hosts: `http://${ETCD.address}:${ETCD.client}` });
  try {
    await client.delete().all();
    const value = JSON.stringify({ pooled: 'yes', weight: 10 });
    for (let i = 0; i < hosts.length; i += 250) {
      await Promise.all(
        hosts
          .slice(i, i + 250)
          .map((h) => client.put(`${PREFIX}/${h.dc}/${h.cluster}/${SERVICE}/${h.name}`).value(value).exec()),
      );
    }
  } finally {
    client.close();
  }
}

function summaryOf(stdout) {
  const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
  const finished = lines.map((l) => JSON.parse(l)).find((e) => e.event === 'run.finished');
  return finished ?? null;
}

/** The bare reference of `mode` as a whole process, on a freshly seeded pool; its figures and the fleet's counts. */
async function bareRun({ mode, schedule, hosts, files, fleet, env }) {
  await seedPool(hosts);
  await fleet.reset();
  const bare = await timed(
    process.execPath,
    [...nodeArgsFrom('SCALE_BARE_NODE_ARGS'), path.join(HERE, 'scale-bare.js'), files.plan, mode, schedule],
    env,
  );
  if (bare.code !== 0) throw new Error(`bare ${mode} ${schedule} reference failed: ${bare.stderr}`);
  const out = JSON.parse(bare.stdout.trim().split('\n').at(-1));
  const counts = await fleet.stats();
  return {
    wallMs: bare.wallMs,
    maxRssMiB: bare.maxRssMiB,
    cpuS: bare.cpuS,
    failed: out.failed,
    sessionsPerHost: counts.sessions / hosts.length,
    connectionsPerHost: counts.connections / hosts.length,
  };
}

/**
 * Node flags from the environment. Why: SCALE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
 * profiles the CLI on the same fleet, and SCALE_BARE_NODE_ARGS the bare references.
 */
function nodeArgsFrom(name) {
  return (process.env[name] ?? '').split(' ').filter(Boolean);
}

/** The faster of a command's runs counts, for rollout as for the references: neither a cold nor a warm run flatters one side. */
function fasterOf(before, after) {
  const faster = after.wallMs < before.wallMs ? after : before;
  // Why: memory is a ceiling, so the larger of the two runs' peaks is the one to hold to it.
  return { ...faster, runsMs: [before.wallMs, after.wallMs], maxRssMiB: Math.max(before.maxRssMiB, after.maxRssMiB) };
}

/**
 * One mode on the same fleet, in ABBA order so a drift of the machine's speed weighs on both sides
 * alike: both bare references (barrier, window), rollout in window then barrier mode; then rollout
 * in barrier then window mode, and both references again. Each figure is the faster of its two runs.
 */
async function measure({ mode, hosts, files, fleet, log }) {
  // Why: rollout keeps validated inventories in XDG_CACHE_HOME; SCALE_INVENTORY_CACHE=off times every run cold.
  const env = {
    ...process.env,
    XDG_STATE_HOME: files.state,
    XDG_CACHE_HOME: files.cache,
    NO_COLOR: '1',
    ...(process.env.SCALE_INVENTORY_CACHE === 'off' ? { ROLLOUT_INVENTORY_CACHE: 'off' } : {}),
  };
  const result = { mode, hosts: hosts.length };
  const bare = async (schedule, when) => {
    const r = await bareRun({ mode, schedule, hosts, files, fleet, env });
    log(
      `bare ${mode} ${schedule} reference (${when}): ${(r.wallMs / 1000).toFixed(2)} s, ${r.cpuS.toFixed(2)} s CPU, ${r.maxRssMiB.toFixed(0)} MiB`,
    );
    return r;
  };
  const rollout = (batchMode) => rolloutRun({ mode, batchMode, hosts, files, fleet, env, log });
  const first = { barrier: await bare('barrier', 'before'), window: await bare('window', 'before') };
  const rolloutFirst = { window: await rollout('window'), barrier: await rollout('barrier') };
  result.rollout = fasterOf(rolloutFirst.barrier, await rollout('barrier'));
  result.window = fasterOf(rolloutFirst.window, await rollout('window'));
  result.bareWindow = fasterOf(first.window, await bare('window', 'after'));
  result.bare = fasterOf(first.barrier, await bare('barrier', 'after'));
  result.ratio = result.rollout.wallMs / result.bare.wallMs;
  result.windowRatio = result.window.wallMs / result.bareWindow.wallMs;
  result.windowToBareBarrier = result.window.wallMs / result.bare.wallMs;
  result.speedup = result.rollout.wallMs / result.window.wallMs;
  return result;
}

/** The built CLI, `rollout sync [--emergency]`, timed as a whole process. */
async function rolloutRun({ mode, batchMode, hosts, files, fleet, env, log }) {
  await seedPool(hosts);
  await fleet.reset();
  const before = await etcdRequests();
  const nodeArgs = nodeArgsFrom('SCALE_NODE_ARGS');
  const args = [
    ...nodeArgs,
    CLI,
    'sync',
    '-i',
    files.inventory,
    '--json',
    ...(mode === 'emergency' ? ['--emergency', '--yes'] : []),
    '--batch-mode',
    batchMode,
  ];
  const cacheDir = inventoryCacheDir(env);
  const cached = cacheDir !== undefined && fs.existsSync(cacheDir);
  const cli = await timed(process.execPath, args, env);
  // Why: SCALE_KEEP_OUTPUT=/tmp/x keeps each run's events and stderr (/tmp/x-graceful-window.ndjson …), for a timeline of where hosts wait.
  const keep = process.env.SCALE_KEEP_OUTPUT;
  if (keep) {
    fs.writeFileSync(`${keep}-${mode}-${batchMode}.ndjson`, cli.stdout);
    fs.writeFileSync(`${keep}-${mode}-${batchMode}.err`, cli.stderr);
  }
  const requests = diff(await etcdRequests(), before);
  const stats = await fleet.stats();
  const finished = summaryOf(cli.stdout);
  if (!finished)
    throw new Error(`rollout ${mode} printed no run.finished (exit ${cli.code}): ${cli.stderr.slice(-2000)}`);
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  const rollout = {
    exitCode: cli.code,
    wallMs: cli.wallMs,
    maxRssMiB: cli.maxRssMiB,
    cpuS: cli.cpuS,
    ok: finished.ok,
    failed: finished.failed,
    sessionsPerHost: stats.sessions / hosts.length,
    connectionsPerHost: stats.connections / hosts.length,
    maxOpenConnections: stats.maxOpenConnections,
    etcdRequestsPerHost: total / hosts.length,
    etcdRequests: requests,
    batches: batchesOf(hosts).reduce((n, b) => n + b.length, 0),
  };
  log(
    `rollout sync${mode === 'emergency' ? ' --emergency' : ''} --batch-mode ${batchMode}: exit ${cli.code}, ${(cli.wallMs / 1000).toFixed(2)} s, ${cli.cpuS.toFixed(2)} s CPU, ${cli.maxRssMiB.toFixed(0)} MiB, ${finished.ok}/${hosts.length} done, inventory cache ${cached ? 'warm' : 'cold'}`,
  );
  return rollout;
}

export async function benchScale({
  hosts: total = 1000,
  modes = ['emergency', 'graceful'],
  slow = { fraction: 0, ms: 60 },
  log,
}) {
  const dir = fs.mkdtempSync('/tmp/rollout-scale-');
  const hosts = scaleFleet(total);
  const files = {
    clientKey: path.join(dir, 'client_key'),
    knownHosts: path.join(dir, 'known_hosts'),
    inventory: path.join(dir, 'inventory.yaml'),
    plan: path.join(dir, 'bare-plan.json'),
    state: path.join(dir, 'state'),
    cache: path.join(dir, 'cache'),
  };
  const key = ssh2.utils.generateKeyPairSync('ed25519');
  fs.writeFileSync(files.clientKey, key.private, { mode: 0o600 });
  let etcd;
  let fleet;
  // Why: a Ctrl-C or a kill of the bench must not leave its etcd and fleet running (a `finally` does not run on a signal).
  const onSignal = () => {
    fleet?.child.kill('SIGTERM');
    etcd?.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.once(signal, onSignal);
  try {
    etcd = await startEtcd(dir, log);
    fleet = await startFleet(hosts, key.public, slow, log);
    fs.writeFileSync(
      files.knownHosts,
      hosts.map((h, i) => `[${h.name}]:${h.port},[${h.address}]:${h.port} ${fleet.hostKeys[i]}\n`).join(''),
    );
    fs.writeFileSync(files.inventory, inventoryYaml(hosts, files));
    const blobs = hosts.map((h, i) => [h.name, fleet.hostKeys[i].split(' ')[1]]);
    fs.writeFileSync(
      files.plan,
      JSON.stringify({
        identityFile: files.clientKey,
        sshConcurrency: 200,
        parallelClusters: 10,
        emergencyCommand: 'systemctl hard-restart php-fpm',
        restartCommand: 'systemctl restart php-fpm',
        etcd: `http://${ETCD.address}:${ETCD.client}`,
        prefix: PREFIX,
        service: SERVICE,
        healthCommand: 'systemctl status php-fpm',
        hostKeys: blobs,
        clusters: batchesOf(hosts),
      }),
    );
    const results = [];
    for (const mode of modes) results.push(await measure({ mode, hosts, files, fleet, log }));
    return {
      hosts: total,
      slow,
      addresses: new Set(hosts.map((h) => h.address.split('.').slice(0, 3).join('.'))).size,
      results,
    };
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    fleet?.child.kill('SIGTERM');
    if (etcd && etcd.exitCode === null) {
      const gone = new Promise((resolve) => etcd.once('exit', resolve));
      etcd.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
