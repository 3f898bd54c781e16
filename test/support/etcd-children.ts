import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { connectEtcd } from '../../src/kv/etcd-kv.js';
import type { Kv } from '../../src/kv/kv.js';
import { compileSrc } from './compile-src.js';
import { startEtcd, type TestEtcd } from './etcd.js';
import { etcdSettings } from './etcd-settings.js';

/** What a test of several OS processes on one real etcd needs; filled in by beforeAll. */
export interface EtcdWithChildren {
  etcd: TestEtcd;
  /** src/ transpiled, for the child processes to import. */
  srcDir: string;
  kv: Kv;
  /** Children to SIGKILL after each test. */
  readonly children: ChildProcess[];
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));
}

/** Registers the hooks: one etcd and one compiled src/ for the file, children killed after each test. */
export function useEtcdWithChildren(): EtcdWithChildren {
  const env = { children: [] as ChildProcess[] } as unknown as EtcdWithChildren;
  beforeAll(async () => {
    env.etcd = await startEtcd();
    env.srcDir = compileSrc();
    env.kv = await connectEtcd(etcdSettings(env.etcd.endpoint));
  });
  afterEach(async () => {
    for (const child of env.children.splice(0)) {
      child.kill('SIGKILL');
      await exited(child);
    }
  });
  afterAll(async () => {
    // Why: a beforeAll that failed half-way must still stop the etcd it started.
    await env.kv?.close();
    await env.etcd?.stop();
    if (env.srcDir) fs.rmSync(env.srcDir, { recursive: true, force: true });
  });
  return env;
}
