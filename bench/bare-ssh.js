// What every bare reference script shares: ssh2 connect and exec with every shortcut rollout takes
// (the private key parsed once, offered directly with no `none` attempt first, the host key
// compared with the one on file), so a ratio against them measures rollout's own cost only.
import fs from 'node:fs';
import ssh2 from 'ssh2';

const { Client, utils } = ssh2;

/** The identity file, read and parsed once for the whole run, as rollout's transport does. */
export function loadKey(file) {
  const parsed = utils.parseKey(fs.readFileSync(file));
  if (parsed instanceof Error) throw parsed;
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

/** Connects with the parsed key only; `knownKey` (a Buffer) is compared as rollout's host-key check does. */
export function connect({ address, port, user = 'root', key, knownKey }) {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({
      host: address,
      port,
      username: user,
      authHandler: [{ type: 'publickey', username: user, key }],
      readyTimeout: 20_000,
      ...(knownKey ? { hostVerifier: (offered) => offered.equals(knownKey) } : {}),
    });
  });
}

/** Runs `command`; resolves on exit 0, rejects with the exit code otherwise. */
export function exec(client, command) {
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

/** Prints the script's result as the last stdout line: what the timing parent reads. */
export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
