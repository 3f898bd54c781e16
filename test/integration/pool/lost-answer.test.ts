// A depool whose answer is lost after etcd committed it, on a real etcd: resolved by its commit marker.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import { unreachableError } from '../../../src/kv/kv-errors.js';
import type { Kv } from '../../../src/kv/kv.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdctl, etcdSettings } from '../../support/etcd-settings.js';
import { fleet } from '../../support/fleet.js';
import { harness } from '../../unit/orchestrator/harness.js';

let etcd: TestEtcd;
let kv: Kv;
beforeAll(async () => {
  etcd = await startEtcd();
  kv = await connectEtcd(etcdSettings(etcd.endpoint));
});
afterAll(async () => {
  await kv?.close();
  await etcd?.stop();
});
beforeEach(() => void etcdctl(etcd.endpoint, 'del', '', '--from-key'));

/** The real client, except that the first batch depool's answer (its transaction carries the marker) is replaced by `after(commit)`. */
function losing(after: (real: Kv['txn'], args: Parameters<Kv['txn']>) => Promise<number>): Kv {
  let first = true;
  return {
    ...kv,
    txn: async (...args) => {
      if (!first || !args[1].some((put) => put.key.includes('/batches/'))) return kv.txn(...args);
      first = false;
      return after(kv.txn.bind(kv), args);
    },
  };
}

describe('a batch depool on a real etcd whose answer is lost', () => {
  it("after a deadline past the commit: the marker is there, the host is this run's, restarted and repooled", async () => {
    const lossy = losing(async (real, args) => {
      await real(...args);
      throw unreachableError(etcd.endpoint, new Error('deadline exceeded'));
    });
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, minPooled: 1 }).build(), lossy);
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.names('host.repooled')).toEqual(['mw1001', 'mw1002']);
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
  });

  it("after a blind retry on another endpoint that sees its own commit as a conflict: still this run's", async () => {
    const lossy = losing(async (real, args) => {
      await real(...args);
      return real(...args); // the retry: the cluster changed (by us), so E_POOL_CONFLICT
    });
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, minPooled: 1 }).build(), lossy);
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.names('host.depooled')).toEqual(['mw1001', 'mw1002']);
    expect(h.names('host.repooled')).toEqual(['mw1001', 'mw1002']);
  });
});
