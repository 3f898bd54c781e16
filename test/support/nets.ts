/**
 * One loopback /24 for each test file that starts a sandbox. The sandbox's ports are fixed per
 * address (etcd and HAProxy on <net>.2, hosts from <net>.11), so two sandboxes must never share a
 * net; the real-server files run one at a time, and a fixed table rules out a collision that a
 * net derived from the pid would only make unlikely. The bench uses 127.0.77 (and 127.0.120 for the scale bench's etcd), `scripts/sandbox` 127.0.0.
 */
export const NETS = {
  e2e: '127.0.66',
  interrupt: '127.0.67',
  sandbox: '127.0.68',
  probes: '127.0.69',
  sandboxFailure: '127.0.70',
  etcdCluster: '127.0.71',
  v2: '127.0.72',
  guards: '127.0.75',
  canary: '127.0.76',
  dualMaster: '127.0.73',
  opcache: '127.0.74',
  reaper: '127.0.86',
  packageUpgrade: '127.0.87',
  alerts: '127.0.78',
  ops: '127.0.79',
  window: '127.0.65',
  windowRace: '127.0.95',
  services: '127.0.93',
  servicesSandbox: '127.0.94',
  steering: '127.0.92',
  steeringResume: '127.0.96',
} as const;
