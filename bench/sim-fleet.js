// A simulated fleet for `bench/scale.js`: one in-process ssh2 Server per host, each with its own
// host key, answering `systemctl restart|hard-restart php-fpm` after `restartMs` and
// `systemctl status php-fpm` at once. Run as a child process of its own (IPC), so its CPU and
// memory are not counted as rollout's. It counts connections and sessions per host.
//   parent → child: { hosts: [{ name, address, port }], restartMs, slowFraction, slowMs, clientKey }   (once)
// A fixed pseudo-random `slowFraction` of the hosts (the same ones every time) restart in `slowMs`:
// the stragglers of a real fleet (a long drain, a slow box, an SSH retry).
//   child → parent: { ready: true, hostKeys: [public key line per host] } | { stats } | { error }
//   parent → child: 'stats' → { stats: { connections, sessions, maxOpenConnections } }
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';

const { Server, utils } = ssh2;

let open = 0;
let maxOpen = 0;
let connections = 0;
let sessions = 0;

/** Exactly round(fraction × n) host indexes, picked by a seeded shuffle: the same stragglers every run. */
function stragglers(n, fraction) {
  let seed = 0x2f6b21;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return new Set(order.slice(0, Math.round(n * fraction)));
}

/** The exit code and delay of a simulated command: what a PHP-FPM host would answer. */
function answer(command, restartMs) {
  if (/^systemctl (restart|hard-restart) php-fpm$/.test(command)) return { delayMs: restartMs, code: 0 };
  if (command === 'systemctl status php-fpm' || command === 'true') return { delayMs: 0, code: 0 };
  return { delayMs: 0, code: 127, stderr: `sim: unknown command: ${command}\n` };
}

/** A new ed25519 host key that ssh2 can load: its generator drops a leading zero byte about once in 200 keys. */
function hostKeyPair() {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}

function serve(host, hostKey, allowed, restartMs) {
  const allowedBlob = allowed.getPublicSSH();
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    connections += 1;
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    client.once('close', () => {
      open -= 1;
    });
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const blob = ctx.key.data;
      if (blob.length !== allowedBlob.length || !timingSafeEqual(blob, allowedBlob)) return ctx.reject(['publickey']);
      // Why: without a signature the client only asks whether the key would do; with one, it must verify.
      if (ctx.signature && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)
        return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          sessions += 1;
          const stream = acceptExec();
          const { delayMs, code, stderr } = answer(info.command, restartMs);
          const finish = () => {
            if (stderr) stream.stderr.write(stderr);
            stream.exit(code);
            stream.end();
          };
          if (delayMs > 0) setTimeout(finish, delayMs);
          else finish();
        });
      });
    });
  });
  server.on('error', (error) =>
    process.send({ error: `${host.name} (${host.address}:${host.port}): ${error.message}` }),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(host.port, host.address, () => resolve(server));
  });
}

process.on('message', async (message) => {
  if (message === 'stats') return process.send({ stats: { connections, sessions, maxOpenConnections: maxOpen } });
  if (message === 'reset') {
    connections = 0;
    sessions = 0;
    maxOpen = open;
    return process.send({ reset: true });
  }
  const { hosts, restartMs, slowFraction = 0, slowMs = restartMs, clientKey } = message;
  const allowed = utils.parseKey(clientKey);
  const slow = stragglers(hosts.length, slowFraction);
  try {
    const hostKeys = [];
    // Why: ten thousand listens at once would only contend; a few hundred at a time is as fast.
    for (let i = 0; i < hosts.length; i += 500) {
      const chunk = hosts.slice(i, i + 500);
      const keys = chunk.map(() => hostKeyPair());
      await Promise.all(
        chunk.map((host, j) => serve(host, keys[j].private, allowed, slow.has(i + j) ? slowMs : restartMs)),
      );
      hostKeys.push(...keys.map((k) => k.public));
    }
    process.send({ ready: true, hostKeys });
  } catch (error) {
    process.send({ error: error.message });
  }
});
process.on('disconnect', () => process.exit(0));
