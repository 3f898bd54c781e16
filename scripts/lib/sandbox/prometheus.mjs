// Prometheus Alertmanager and Pushgateway (Debian's prometheus-alertmanager and prometheus-pushgateway)
// on a loopback address, each with its own data directory: the sandbox and the tests start them the same way.
import fs from 'node:fs';
import path from 'node:path';

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
export const PUSHGATEWAY = '/usr/bin/prometheus-pushgateway';
export const ALERTMANAGER_PORT = 9093;
export const PUSHGATEWAY_PORT = 9091;

/** Writes the config (one receiver that sends nothing) and returns the command line of an Alertmanager in `dir`. */
export function alertmanagerArgs(dir, address, port = ALERTMANAGER_PORT) {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true, mode: 0o700 });
  const config = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(config, 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n');
  return [
    `--config.file=${config}`,
    `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=${address}:${port}`,
    // Why: an empty cluster address turns gossip off: no 0.0.0.0:9094 listener, no peer to wait for.
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
}

/** The command line of a Pushgateway in `dir` (persistence in the dir, never /var/lib). */
export function pushgatewayArgs(dir, address, port = PUSHGATEWAY_PORT) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return [
    `--web.listen-address=${address}:${port}`,
    `--persistence.file=${path.join(dir, 'pushgateway.data')}`,
    '--log.level=warn',
  ];
}
