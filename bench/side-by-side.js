// rollout against the bare work of a graceful restart, on the same sandbox hosts and in the same
// batches, in one run. The bare loop (plain etcd3 + ssh2 + fetch, no journal, no locks, no guard)
// does per host: depool, wait until every LB agent has applied it, drain (PHP-FPM status until
// only the probe is active), restart over an open SSH connection, poll the health URL until the
// first good answer, repool, wait until the agents have applied it. Clusters in parallel, batches
// of one host in order, as the sandbox's rollout runs them. The difference per batch is rollout's
// own cost: the target is at most 0.1 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import ssh2 from 'ssh2';
import { eventsOf, runCli } from './cli.js';

const PREFIX = '/conftool/v1/pools';
const SERVICE = 'php-fpm';
const POLL_MS = 10;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function connect(sandbox, host) {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('ready', () => resolve(client)).once('error', reject);
    client.connect({
      host: host.address,
      port: host.sshPort,
      username: sandbox.ssh.user,
      privateKey: fs.readFileSync(sandbox.ssh.identityFile),
      readyTimeout: 20_000,
    });
  });
}

function exec(client, command) {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => {
      if (error) return reject(error);
      let code = null;
      stream
        .on('exit', (c) => {
          code = c;
        })
        .on('data', () => undefined)
        .stderr.on('data', () => undefined);
      stream.on('close', () => (code === 0 ? resolve() : reject(new Error(`${command}: exit ${code}`))));
    });
  });
}

async function until(what, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'not yet';
  for (;;) {
    if (await check().catch((error) => void (last = error.message))) return;
    if (Date.now() > deadline)
      throw new Error(`bare loop: ${what} did not happen within ${timeoutMs / 1000}s (last: ${last})`);
    await sleep(POLL_MS);
  }
}

/** Every agent registered in the host's datacenter has applied the pool key's write at `revision`. */
async function applied(client, host, revision) {
  const prefix = `/rollout/v1/lb/${host.dc}/agents/`;
  // Why: an agent id is `<machine>:<haproxy socket>`, slashes and all.
  const agents = Object.keys(await client.getAll().prefix(prefix).strings()).map((k) => k.slice(prefix.length));
  if (agents.length === 0) throw new Error(`bare loop: no LB agent registered in ${host.dc}`);
  for (const agent of agents) {
    const raw = await client
      .get(`/rollout/v1/lb/${host.dc}/applied/${agent}/${host.cluster}/${SERVICE}/${host.name}`)
      .string();
    if (raw === null || JSON.parse(raw).revision < revision) return false;
  }
  return true;
}

async function setPooled(client, host, pooled) {
  const key = `${PREFIX}/${host.dc}/${host.cluster}/${SERVICE}/${host.name}`;
  const value = JSON.parse(await client.get(key).string());
  const result = await client
    .put(key)
    .value(JSON.stringify({ ...value, pooled }))
    .exec();
  return Number(result.header.revision);
}

async function bareHost(sandbox, etcd, host) {
  const ssh = await connect(sandbox, host);
  try {
    const depooled = await setPooled(etcd, host, 'no');
    await until(`${host.name}: LB applies the depool`, () => applied(etcd, host, depooled));
    await until(`${host.name}: drained`, async () => {
      const status = await (await fetch(`http://${host.address}:8080/fpm-status?json`)).json();
      return status['active processes'] <= 1;
    });
    await exec(ssh, 'systemctl restart php8.2-fpm');
    await until(`${host.name}: healthy`, async () => (await fetch(host.httpUrl)).status === 200);
    const repooled = await setPooled(etcd, host, 'yes');
    await until(`${host.name}: LB applies the repool`, () => applied(etcd, host, repooled));
  } finally {
    ssh.end();
  }
}

async function bareLoop(sandbox) {
  const clusters = new Map();
  for (const h of sandbox.hosts)
    clusters.set(`${h.dc}/${h.cluster}`, [...(clusters.get(`${h.dc}/${h.cluster}`) ?? []), h]);
  const etcd = new Etcd3({ hosts: sandbox.etcd.endpoints });
  const started = process.hrtime.bigint();
  try {
    await Promise.all(
      [...clusters.values()].map(async (hosts) => {
        for (const host of hosts) await bareHost(sandbox, etcd, host);
      }),
    );
  } finally {
    etcd.close();
  }
  // Why: one host a batch, clusters in parallel: the longest cluster is the number of batches in a row.
  return {
    wallMs: Number(process.hrtime.bigint() - started) / 1e6,
    batches: Math.max(...[...clusters.values()].map((hosts) => hosts.length)),
  };
}

async function rolloutSync(sandbox, env) {
  const { exitCode, stdout, wallMs } = await runCli(['sync', '-i', sandbox.inventoryFile, '--json'], env, {
    timeoutMs: 180_000,
  });
  return { exitCode, wallMs, runMs: eventsOf(stdout, 'run.finished')[0]?.durationMs ?? Number.NaN };
}

/** `rounds` alternating rollout / bare runs on the sandbox; medians, and rollout's cost per batch. */
export async function benchSideBySide({ sandbox, rounds = 3, log }) {
  const stateHome = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-bench-logs-'));
  const env = { ...process.env, XDG_STATE_HOME: stateHome, NO_COLOR: '1' };
  const runs = [];
  try {
    for (let i = 0; i < rounds; i += 1) {
      const r = await rolloutSync(sandbox, env);
      if (r.exitCode !== 0) throw new Error(`rollout sync exited ${r.exitCode}`);
      const b = await bareLoop(sandbox);
      runs.push({ rollout: r, bare: b });
      log?.(
        `side by side ${i + 1}/${rounds}: rollout ${(r.wallMs / 1000).toFixed(2)} s (run ${(r.runMs / 1000).toFixed(2)} s), bare loop ${(b.wallMs / 1000).toFixed(2)} s`,
      );
    }
  } finally {
    fs.rmSync(stateHome, { recursive: true, force: true });
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const batches = runs[0].bare.batches;
  const rolloutMs = med(runs.map((r) => r.rollout.wallMs));
  const runMs = med(runs.map((r) => r.rollout.runMs));
  const bareMs = med(runs.map((r) => r.bare.wallMs));
  return {
    hosts: sandbox.hosts.length,
    batchesPerCluster: batches,
    rounds,
    rolloutMs,
    runMs,
    bareMs,
    ratio: rolloutMs / bareMs,
    perBatchMs: (rolloutMs - bareMs) / batches,
    perBatchRunMs: (runMs - bareMs) / batches,
  };
}
