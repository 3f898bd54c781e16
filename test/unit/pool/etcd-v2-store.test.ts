import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import type { V2Answer, V2Client, V2Node } from '../../../src/kv/etcd-v2-client.js';
import { createV2PoolStore } from '../../../src/pool/etcd-v2-store.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';
import { poolKeyPath } from '../../../src/pool/store.js';
import { poolKeyId, type PoolEntry, type PoolKey, type PoolStore } from '../../../src/pool/types.js';

const PREFIX = '/conftool/v1/pools';
const key = (n: number): PoolKey => ({
  dc: 'eqiad',
  cluster: 'appserver',
  service: 'php-fpm',
  host: `mw${n}.eqiad.wmnet`,
});
const keys = [1, 2, 3, 4].map(key);
const MARKER = '/rollout/v1/test/marker';

/** etcd's v2 keys API in memory, with hooks to lose an answer after (or instead of) applying a PUT. */
function fakeV2() {
  let index = 10;
  const nodes = new Map<string, { value: string; modifiedIndex: number; createdIndex: number }>();
  const hooks: { lose?: (path: string, value: string) => 'after' | 'before' | undefined; down?: boolean } = {};
  const answer = (status: number, body: V2Answer['body']): V2Answer => ({ status, index, body });
  const leaf = (path: string): V2Node => ({
    key: path,
    ...(nodes.get(path) as { value: string; modifiedIndex: number; createdIndex: number }),
  });
  const client: V2Client = {
    endpoints: ['http://fake'],
    get: async (path) => {
      if (hooks.down) throw new Error('connection refused');
      if (nodes.has(path)) return answer(200, { action: 'get', node: leaf(path) });
      const children = [...nodes.keys()].filter((k) => k.startsWith(`${path}/`));
      if (children.length === 0) return answer(404, { errorCode: 100, message: 'Key not found' });
      return answer(200, {
        action: 'get',
        node: { key: path, dir: true, modifiedIndex: 1, createdIndex: 1, nodes: children.map(leaf) },
      });
    },
    put: async (path, value, condition) => {
      if (hooks.down) throw new Error('connection refused');
      const lose = hooks.lose?.(path, value);
      if (lose === 'before') throw new Error('socket hang up');
      const now = nodes.get(path);
      if ('prevIndex' in condition ? now?.modifiedIndex !== condition.prevIndex : now !== undefined) {
        return answer(412, {
          errorCode: 'prevIndex' in condition ? 101 : 105,
          message: 'Compare failed',
          cause: `[${'prevIndex' in condition ? condition.prevIndex : 0} != ${now?.modifiedIndex ?? 0}]`,
        });
      }
      index += 1;
      nodes.set(path, { value, modifiedIndex: index, createdIndex: now?.createdIndex ?? index });
      if (lose === 'after') throw new Error('socket hang up');
      return answer(now ? 200 : 201, { action: now ? 'compareAndSwap' : 'create', node: leaf(path) });
    },
    remove: async () => answer(200, {}),
    wait: async () => answer(200, {}),
    close: () => undefined,
  };
  const set = (k: PoolKey, value: object): void => {
    index += 1;
    nodes.set(poolKeyPath(PREFIX, k), { value: JSON.stringify(value), modifiedIndex: index, createdIndex: index });
  };
  const pooled = (k: PoolKey): string =>
    (JSON.parse(nodes.get(poolKeyPath(PREFIX, k))?.value ?? '{}') as { pooled?: string }).pooled ?? 'missing';
  return { client, hooks, set, pooled };
}

function setup() {
  const v2 = fakeV2();
  for (const k of keys) v2.set(k, { pooled: 'yes', weight: 10 });
  const kv = createMemoryKv();
  return { v2, kv, store: createV2PoolStore(kv, v2.client, PREFIX) };
}

async function depoolTwo(store: PoolStore) {
  const read = await store.readGuarded(keys);
  const writes = [0, 1].map((i) => ({
    entry: read.snapshot.get(poolKeyId(keys[i] as PoolKey)) as PoolEntry,
    change: { pooled: 'no' } as const,
  }));
  return store.writeAll(read, writes, [{ key: MARKER, value: 'committed' }]);
}

describe('the v2 pool store', () => {
  it('reads one cluster with its etcd index, and a batch reports one revision for every host it wrote', async () => {
    const { store, kv } = setup();
    const revision = await depoolTwo(store);
    const snapshot = await store.read(keys);
    expect([0, 1].map((i) => snapshot.get(poolKeyId(keys[i] as PoolKey)))).toMatchObject([
      { modRevision: revision, value: { pooled: 'no' } },
      { modRevision: revision, value: { pooled: 'no' } },
    ]);
    expect((await kv.get(MARKER))?.value).toBe('committed');
  });

  it('counts a write whose answer was lost as landed when the key reads back with its value at a later index', async () => {
    const { store, v2, kv } = setup();
    v2.hooks.lose = (path) => (path.endsWith('/mw2.eqiad.wmnet') ? 'after' : undefined);
    await depoolTwo(store);
    expect([v2.pooled(key(1)), v2.pooled(key(2))]).toEqual(['no', 'no']);
    expect((await kv.get(MARKER))?.value).toBe('committed');
  });

  it('undoes the rest and writes no marker when a lost write did not land', async () => {
    const { store, v2, kv } = setup();
    v2.hooks.lose = (path) => (path.endsWith('/mw2.eqiad.wmnet') ? 'before' : undefined);
    const error = await depoolTwo(store).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRolloutError(error, 'E_ETCD_UNREACHABLE'), String(error)).toBe(true);
    expect([v2.pooled(key(1)), v2.pooled(key(2))]).toEqual(['yes', 'yes']);
    expect(await kv.get(MARKER)).toBeNull();
  });

  it('undoes the batch when another host of the cluster changed while it was being written', async () => {
    const { store, v2, kv } = setup();
    // Why: a conftool depool of mw4 that lands between this batch's writes and its check.
    v2.hooks.lose = (path) => {
      if (path.endsWith('/mw2.eqiad.wmnet')) v2.set(key(4), { pooled: 'no', weight: 10 });
      return undefined;
    };
    const error = await depoolTwo(store).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRolloutError(error, 'E_POOL_CONFLICT'), String(error)).toBe(true);
    expect(String(error)).toContain('mw4.eqiad.wmnet');
    expect([v2.pooled(key(1)), v2.pooled(key(2)), v2.pooled(key(4))]).toEqual(['yes', 'yes', 'no']);
    expect(await kv.get(MARKER)).toBeNull();
  });

  it('names the hosts it could not put back when etcd stopped answering during the undo', async () => {
    const { store, v2 } = setup();
    v2.hooks.lose = (path) => {
      if (path.endsWith('/mw2.eqiad.wmnet')) v2.set(key(4), { pooled: 'no', weight: 10 });
      return undefined;
    };
    const read = await store.readGuarded(keys);
    const writes = [0, 1].map((i) => ({
      entry: read.snapshot.get(poolKeyId(keys[i] as PoolKey)) as PoolEntry,
      change: { pooled: 'no' } as const,
    }));
    const original = v2.client.get;
    let gets = 0;
    // Why: the check after the writes answers, then etcd goes away before the undo.
    v2.client.get = async (...args) => {
      gets += 1;
      const answer = await original(...args);
      if (gets === 2) v2.hooks.down = true;
      return answer;
    };
    const error = await store.writeAll(read, writes, [{ key: MARKER, value: 'x' }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRolloutError(error, 'E_ETCD_UNREACHABLE'), String(error)).toBe(true);
    expect(String(error)).toMatch(/mw1\.eqiad\.wmnet.*mw2\.eqiad\.wmnet|mw2\.eqiad\.wmnet.*mw1\.eqiad\.wmnet/);
    expect(String(error)).toContain('may be left depooled');
  });

  it('counts a write whose answer was lost and could not be read back as possibly depooled, and says so', async () => {
    const { store, v2, kv } = setup();
    v2.hooks.lose = (path) => {
      if (!path.endsWith('/mw2.eqiad.wmnet')) return undefined;
      v2.hooks.down = true;
      return 'after';
    };
    const read = await store.readGuarded(keys);
    const error = await store
      .writeAll(
        read,
        [{ entry: read.snapshot.get(poolKeyId(key(2))) as PoolEntry, change: { pooled: 'no' } }],
        [{ key: MARKER, value: 'x' }],
      )
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isRolloutError(error, 'E_ETCD_UNREACHABLE'), String(error)).toBe(true);
    expect(String(error)).toMatch(
      /could not be undone .* for \/conftool\/v1\/pools\/eqiad\/appserver\/php-fpm\/mw2\.eqiad\.wmnet: they may be left depooled/,
    );
    expect(await kv.get(MARKER)).toBeNull();
  });
});
