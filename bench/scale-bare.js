// The bare work of a restart at fleet scale, as a plain script: per cluster in the same batches as
// rollout, for each host connect, exec the restart, exec the health command, close. Graceful also
// depools each batch in one etcd transaction first and repools each host with one put after its
// health command. Clusters in parallel and commands capped as rollout's settings say. No journal,
// no locks, no guard, no reporting: the floor that `bench/scale.js` compares rollout with, run as
// a whole process as rollout is. With `window`, each cluster runs a sliding window as wide as its
// first batch instead: a new host starts as soon as one ends (graceful: each host depooled with its
// own put when it starts). Usage: node bench/scale-bare.js PLAN.json emergency|graceful [barrier|window]
import fs from 'node:fs';
import { Etcd3 } from 'etcd3';
import pLimit from 'p-limit';
import { connect, exec, loadKey, report } from './bare-ssh.js';

const POOLED = (pooled) => JSON.stringify({ pooled, weight: 10 });

async function main() {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const graceful = process.argv[3] === 'graceful';
  const windowed = process.argv[4] === 'window';
  const key = loadKey(plan.identityFile);
  const keys = new Map(plan.hostKeys.map(([name, blob]) => [name, Buffer.from(blob, 'base64')]));
  const etcd = graceful ? new Etcd3({ hosts: plan.etcd }) : undefined;
  const poolKey = (h) => `${plan.prefix}/${h.dc}/${h.cluster}/${plan.service}/${h.name}`;
  const limit = pLimit(plan.sshConcurrency);
  const clusters = pLimit(plan.parallelClusters);
  const restart = graceful ? plan.restartCommand : plan.emergencyCommand;
  let failed = 0;
  const one = async (host) => {
    // Why: as in rollout, the cap counts a host's connect with its first command.
    const client = await limit(async () => {
      const c = await connect({ ...host, key, knownKey: keys.get(host.name) });
      await exec(c, restart);
      return c;
    });
    try {
      await limit(() => exec(client, plan.healthCommand));
    } finally {
      client.end();
    }
    if (etcd) await etcd.put(poolKey(host)).value(POOLED('yes')).exec();
  };
  const depool = async (batch) => {
    if (!etcd) return;
    const [first] = batch;
    await etcd
      .if(poolKey(first), 'Create', '>', 0)
      .then(...batch.map((h) => etcd.put(poolKey(h)).value(POOLED('no'))))
      .commit();
  };
  /** A cluster's hosts in plan order, at most `width` at once: each of `width` workers takes the next host. */
  const slide = async (batches) => {
    const hosts = batches.flat();
    let next = 0;
    const worker = async () => {
      for (let host = hosts[next++]; host !== undefined; host = hosts[next++]) {
        if (etcd) await etcd.put(poolKey(host)).value(POOLED('no')).exec();
        await one(host).catch(() => (failed += 1));
      }
    };
    await Promise.all(Array.from({ length: batches[0]?.length ?? 1 }, worker));
  };
  try {
    await Promise.all(
      plan.clusters.map((batches) =>
        clusters(async () => {
          if (windowed) return slide(batches);
          for (const batch of batches) {
            await depool(batch);
            const results = await Promise.allSettled(batch.map((host) => one(host)));
            failed += results.filter((r) => r.status === 'rejected').length;
          }
        }),
      ),
    );
  } finally {
    etcd?.close();
  }
  report({ failed });
}

main().catch((error) => {
  process.stderr.write(`scale-bare: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
