// The bare loop of `bench/side-by-side.js`, as a whole process of its own (timed as rollout is):
// per host depool, wait until every LB agent has applied it, drain, restart, first good probe,
// repool, wait until the agents have applied it. The agents' applied revisions come from one etcd
// watch, as rollout's confirmation does, not from polling; drain and health poll every 2 ms.
// Usage: node bench/side-by-side-bare.js SANDBOX.json (the sandbox's description as JSON).
import { performance } from 'node:perf_hooks';
import fs from 'node:fs';
import { Etcd3 } from 'etcd3';
import { connect, exec, loadKey, report } from './bare-ssh.js';

const PREFIX = '/conftool/v1/pools';
const SERVICE = 'php-fpm';
const LB = '/rollout/v1/lb/';
const POLL_MS = 2;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

/** The applied revision of every agent key, kept current by one watch on the LB room; waiters wake on each change. */
async function appliedRevisions(etcd) {
  const revisions = new Map();
  const waiters = new Set();
  const set = (key, raw) => {
    revisions.set(key, JSON.parse(raw).revision ?? 0);
    for (const wake of waiters) wake();
  };
  const initial = await etcd.getAll().prefix(LB).strings();
  for (const [key, raw] of Object.entries(initial)) if (key.includes('/applied/')) set(key, raw);
  const watcher = await etcd.watch().prefix(LB).create();
  watcher.on('put', (kv) => {
    const key = kv.key.toString();
    if (key.includes('/applied/')) set(key, kv.value.toString());
  });
  const agents = new Map();
  const agentsOf = async (dc) => {
    if (!agents.has(dc)) {
      const prefix = `${LB}${dc}/agents/`;
      const ids = Object.keys(await etcd.getAll().prefix(prefix).strings()).map((k) => k.slice(prefix.length));
      if (ids.length === 0) throw new Error(`bare loop: no LB agent registered in ${dc}`);
      agents.set(dc, ids);
    }
    return agents.get(dc);
  };
  return {
    /** Resolves once every agent of the host's dc has applied the pool write at `revision`. */
    async wait(host, revision) {
      const ids = await agentsOf(host.dc);
      const keys = ids.map((id) => `${LB}${host.dc}/applied/${id}/${host.cluster}/${SERVICE}/${host.name}`);
      const done = () => keys.every((k) => (revisions.get(k) ?? -1) >= revision);
      if (done()) return;
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`bare loop: ${host.name}: LB did not apply revision ${revision} within 30s`));
        }, 30_000);
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    close: () => watcher.cancel(),
  };
}

async function setPooled(etcd, host, pooled) {
  const key = `${PREFIX}/${host.dc}/${host.cluster}/${SERVICE}/${host.name}`;
  const value = JSON.parse(await etcd.get(key).string());
  const result = await etcd
    .put(key)
    .value(JSON.stringify({ ...value, pooled }))
    .exec();
  return Number(result.header.revision);
}

async function bareHost(sandbox, key, etcd, applied, host) {
  const ssh = await connect({ address: host.address, port: host.sshPort, user: sandbox.ssh.user, key });
  try {
    await applied.wait(host, await setPooled(etcd, host, 'no'));
    await until(`${host.name}: drained`, async () => {
      const status = await (await fetch(`http://${host.address}:8080/fpm-status?json`)).json();
      return status['active processes'] <= 1;
    });
    await exec(ssh, 'systemctl restart php8.2-fpm');
    await until(`${host.name}: healthy`, async () => (await fetch(host.httpUrl)).status === 200);
    await applied.wait(host, await setPooled(etcd, host, 'yes'));
  } finally {
    ssh.end();
  }
}

async function main() {
  const sandbox = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const key = loadKey(sandbox.ssh.identityFile);
  const clusters = new Map();
  for (const h of sandbox.hosts)
    clusters.set(`${h.dc}/${h.cluster}`, [...(clusters.get(`${h.dc}/${h.cluster}`) ?? []), h]);
  const etcd = new Etcd3({ hosts: sandbox.etcd.endpoints });
  const applied = await appliedRevisions(etcd);
  // Why: rollout's run.finished times its run from its first host on; this is the same span of the bare loop.
  let runMs;
  try {
    const started = performance.now();
    await Promise.all(
      [...clusters.values()].map(async (hosts) => {
        for (const host of hosts) await bareHost(sandbox, key, etcd, applied, host);
      }),
    );
    runMs = performance.now() - started;
  } finally {
    await applied.close();
    etcd.close();
  }
  // Why: one host a batch, clusters in parallel: the longest cluster is the number of batches in a row.
  report({ batches: Math.max(...[...clusters.values()].map((hosts) => hosts.length)), runMs });
}

main().catch((error) => {
  process.stderr.write(`side-by-side-bare: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
