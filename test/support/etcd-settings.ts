import { execFileSync } from 'node:child_process';
import { DEFAULT_ETCD } from '../../src/inventory/defaults.js';
import type { EtcdSettings } from '../../src/inventory/types.js';

/** Plain-HTTP settings for a test etcd. */
export function etcdSettings(endpoint: string, overrides: Partial<EtcdSettings> = {}): EtcdSettings {
  // Why: a short dial timeout keeps tests of an unreachable etcd quick.
  return { ...DEFAULT_ETCD, endpoints: [endpoint], dialTimeoutSeconds: 2, ...overrides };
}

/** Runs etcdctl (v3 API) against a test etcd, behind the adapter's back. */
export function etcdctl(endpoint: string, ...args: string[]): string {
  return execFileSync('/usr/bin/etcdctl', ['--endpoints', endpoint, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
  });
}
