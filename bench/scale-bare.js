// The bare work of an emergency restart, as a plain ssh2 script: per cluster in the same batches
// as rollout, for each host connect, exec the restart, exec the health command, close. Clusters in
// parallel and commands capped as rollout's settings say. No etcd, no reporting: the floor that
// `bench/scale.js` compares rollout with. Usage: node bench/scale-bare.js PLAN.json (prints JSON).
import fs from 'node:fs';
import pLimit from 'p-limit';
import ssh2 from 'ssh2';

const { Client } = ssh2;

function connect(host, privateKey, knownKey) {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    // Why: rollout verifies every host key; the floor does the same comparison, no more.
    client.connect({
      host: host.address,
      port: host.port,
      username: 'root',
      privateKey,
      readyTimeout: 20_000,
      hostVerifier: (key) => key.equals(knownKey),
    });
  });
}

function exec(client, command) {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => {
      if (error) return reject(error);
      let code = null;
      stream.on('exit', (c) => {
        code = c;
      });
      stream.on('data', () => undefined).stderr.on('data', () => undefined);
      stream.on('close', () => (code === 0 ? resolve() : reject(new Error(`${command}: exit ${code}`))));
    });
  });
}

async function main() {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const privateKey = fs.readFileSync(plan.identityFile);
  const keys = new Map(plan.hostKeys.map(([name, blob]) => [name, Buffer.from(blob, 'base64')]));
  const limit = pLimit(plan.sshConcurrency);
  const clusters = pLimit(plan.parallelClusters);
  let failed = 0;
  const one = async (host) => {
    // Why: as in rollout, the cap counts a host's connect with its first command.
    const client = await limit(async () => {
      const c = await connect(host, privateKey, keys.get(host.name));
      await exec(c, plan.restartCommand);
      return c;
    });
    try {
      await limit(() => exec(client, plan.healthCommand));
    } finally {
      client.end();
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(
    plan.clusters.map((batches) =>
      clusters(async () => {
        for (const batch of batches) {
          const results = await Promise.allSettled(batch.map((host) => one(host)));
          failed += results.filter((r) => r.status === 'rejected').length;
        }
      }),
    ),
  );
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ wallMs, failed })}\n`);
}

main().catch((error) => {
  process.stderr.write(`scale-bare: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
