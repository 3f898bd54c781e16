import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';
import { createPoolStore, parsePoolKeyPath, parsePoolValue, poolKeyPath } from '../../../src/pool/store.js';
import { poolKeyId } from '../../../src/pool/types.js';
import type { PoolEntry, PoolKey } from '../../../src/pool/types.js';

const prefix = '/conftool/v1/pools';
const mw1: PoolKey = { dc: 'eqiad', cluster: 'appserver', service: 'apache2', host: 'mw1001.eqiad.wmnet' };
const mw2: PoolKey = { ...mw1, host: 'mw1002.eqiad.wmnet' };
const path1 = '/conftool/v1/pools/eqiad/appserver/apache2/mw1001.eqiad.wmnet';

async function setup(values: Record<string, string> = {}) {
  const kv = createMemoryKv();
  for (const [path, value] of Object.entries(values)) await kv.put(path, value);
  return { kv, store: createPoolStore(kv, prefix) };
}

async function entryOf(store: ReturnType<typeof createPoolStore>, key: PoolKey): Promise<PoolEntry> {
  const entry = (await store.read([key])).get(poolKeyId(key));
  if (entry === undefined) throw new Error('not read');
  return entry;
}

describe('pool key paths', () => {
  it('builds the conftool path and ignores a trailing slash on the prefix', () => {
    expect(poolKeyPath(prefix, mw1)).toBe(path1);
    expect(poolKeyPath(`${prefix}/`, mw1)).toBe(path1);
  });

  it('parses a path back to its key and rejects paths that are not node keys', () => {
    expect(parsePoolKeyPath(prefix, path1)).toEqual(mw1);
    expect(parsePoolKeyPath(prefix, '/conftool/v1/pools/eqiad/appserver/apache2')).toBeNull();
    expect(parsePoolKeyPath(prefix, '/conftool/v1/pools/eqiad/appserver/apache2/mw1/extra')).toBeNull();
    expect(parsePoolKeyPath(prefix, '/other/eqiad/appserver/apache2/mw1')).toBeNull();
    expect(parsePoolKeyPath(prefix, '/conftool/v1/pools/eqiad//apache2/mw1')).toBeNull();
  });
});

describe('parsePoolValue', () => {
  it('accepts a conftool value and keeps its extra fields', () => {
    expect(parsePoolValue('{"weight": 10, "pooled": "yes", "note": "x"}')).toEqual({
      ok: true,
      value: { weight: 10, pooled: 'yes', note: 'x' },
    });
  });

  it.each([
    ['not json', /invalid JSON/],
    ['[1]', /JSON object/],
    ['{"pooled": "maybe", "weight": 1}', /pooled must be/],
    ['{"weight": 1}', /pooled must be .* got nothing/],
    ['{"pooled": "no", "weight": 1.5}', /weight must be an integer, got 1.5/],
    ['{"pooled": "no", "weight": "10"}', /weight must be an integer, got "10"/],
  ])('rejects %s with a reason', (raw, reason) => {
    const parsed = parsePoolValue(raw);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });
});

describe('pool store', () => {
  it('reads present, missing and malformed entries with their revisions', async () => {
    const { kv, store } = await setup({
      [path1]: '{"pooled": "yes", "weight": 10}',
      [poolKeyPath(prefix, { ...mw1, host: 'bad' })]: '{"pooled": 1}',
    });
    const bad = { ...mw1, host: 'bad' };
    const snapshot = await store.read([mw1, mw2, bad]);
    expect(snapshot.get(poolKeyId(mw1))).toEqual({
      key: mw1,
      state: 'present',
      value: { pooled: 'yes', weight: 10 },
      modRevision: 2,
    });
    expect(snapshot.get(poolKeyId(mw2))).toEqual({ key: mw2, state: 'missing' });
    expect(snapshot.get(poolKeyId(bad))).toMatchObject({ state: 'malformed', raw: '{"pooled": 1}', modRevision: 3 });
    expect(store.kv).toBe(kv);
  });

  it('writes a change while preserving unknown fields and their order', async () => {
    const { kv, store } = await setup({ [path1]: '{"weight": 10, "pooled": "yes", "owner": {"team": "sre"}}' });
    const rev = await store.write(await entryOf(store, mw1), { pooled: 'no' });
    expect(await kv.get(path1)).toMatchObject({
      value: '{"weight":10,"pooled":"no","owner":{"team":"sre"}}',
      modRevision: rev,
    });
  });

  it('creates a missing key only if it is still missing', async () => {
    const { kv, store } = await setup();
    const missing = await entryOf(store, mw1);
    await store.write(missing, { pooled: 'no', weight: 5 });
    expect(JSON.parse((await kv.get(path1))?.value ?? '')).toEqual({ pooled: 'no', weight: 5 });
    const error = await store.write(missing, { pooled: 'yes' }).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_POOL_CONFLICT')).toBe(true);
  });

  it('refuses to write a malformed entry and leaves it untouched', async () => {
    const { kv, store } = await setup({ [path1]: 'garbage' });
    const error = await store.write(await entryOf(store, mw1), { pooled: 'yes' }).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_POOL_VALUE')).toBe(true);
    expect((error as Error).message).toContain(path1);
    expect((await kv.get(path1))?.value).toBe('garbage');
  });

  it('refuses an invalid weight before writing anything', async () => {
    const { store } = await setup({ [path1]: '{"pooled": "yes", "weight": 10}' });
    await expect(store.write(await entryOf(store, mw1), { weight: -1 })).rejects.toMatchObject({
      code: 'E_POOL_VALUE',
      key: path1,
    });
  });

  it('lets one of two writers racing on the same read win and refuses the other with E_POOL_CONFLICT', async () => {
    const { kv, store } = await setup({ [path1]: '{"pooled": "yes", "weight": 10}' });
    const readByA = await entryOf(store, mw1);
    const readByB = await entryOf(store, mw1);
    const results = await Promise.allSettled([
      store.write(readByA, { pooled: 'no' }),
      store.write(readByB, { weight: 1 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected');
    expect(isRolloutError(lost?.status === 'rejected' ? lost.reason : null, 'E_POOL_CONFLICT')).toBe(true);
    expect(JSON.parse((await kv.get(path1))?.value ?? '')).toEqual({ pooled: 'no', weight: 10 });
  });
});
