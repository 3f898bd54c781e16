import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { inventoryCacheDir, loadInventory } from '../../../src/inventory/load.js';
import { cachedValidation, codeIdentity } from '../../../src/inventory/validation-cache.js';
import { validateInventoryText, type ValidationResult } from '../../../src/inventory/validate.js';
import { cluster } from './helpers.js';

const root = path.resolve(import.meta.dirname, '../../..');
const base = mkdtempSync(path.join(tmpdir(), 'rollout-inventory-cache-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let dir: string;
let n = 0;
beforeEach(() => {
  n += 1;
  dir = path.join(base, `cache-${n}`);
});

/** The validator, counting its calls: a call is a miss. */
function counting(): { validate: (text: string, file: string) => ValidationResult; calls: () => number } {
  let calls = 0;
  return {
    validate: (text, file) => {
      calls += 1;
      return validateInventoryText(text, file);
    },
    calls: () => calls,
  };
}

const entries = (): string[] => (existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.v8')) : []);

describe('cachedValidation', () => {
  const text = readFileSync(path.join(root, 'inventory/example.yaml'), 'utf8');

  it('validates once, then answers from the cache with the same inventory', () => {
    const v = counting();
    const first = cachedValidation(text, 'inv.yaml', dir, v.validate);
    const second = cachedValidation(text, 'inv.yaml', dir, v.validate);
    expect(v.calls()).toBe(1);
    expect(entries()).toHaveLength(1);
    expect(second).toStrictEqual(first);
    expect(second).toStrictEqual(validateInventoryText(text, 'inv.yaml'));
  });

  it('misses on another text or another path', () => {
    const v = counting();
    cachedValidation(text, 'inv.yaml', dir, v.validate);
    cachedValidation(`${text}\n# a comment\n`, 'inv.yaml', dir, v.validate);
    cachedValidation(text, 'other.yaml', dir, v.validate);
    expect(v.calls()).toBe(3);
    expect(entries()).toHaveLength(3);
  });

  it('keeps the warnings and says them again on a hit', () => {
    const v = counting();
    const yaml = cluster(['minPooled: 9']);
    cachedValidation(yaml, 'inv.yaml', dir, v.validate);
    const hit = cachedValidation(yaml, 'inv.yaml', dir, v.validate);
    expect(v.calls()).toBe(1);
    expect(hit.warnings).toHaveLength(1);
    expect(hit.warnings[0]).toMatch(/minPooled 9 is more than the 4 hosts/);
  });

  it('never stores an invalid inventory', () => {
    const v = counting();
    const bad = cluster(['minPooled: lots']);
    const first = cachedValidation(bad, 'inv.yaml', dir, v.validate);
    const again = cachedValidation(bad, 'inv.yaml', dir, v.validate);
    expect(first.inventory).toBeNull();
    expect(again.errors).toEqual(first.errors);
    expect(v.calls()).toBe(2);
    expect(entries()).toEqual([]);
  });

  it('takes a damaged entry for a miss and writes it anew', () => {
    const v = counting();
    cachedValidation(text, 'inv.yaml', dir, v.validate);
    const [entry] = entries();
    writeFileSync(path.join(dir, entry ?? ''), 'not a serialized entry');
    const result = cachedValidation(text, 'inv.yaml', dir, v.validate);
    expect(v.calls()).toBe(2);
    expect(result).toStrictEqual(validateInventoryText(text, 'inv.yaml'));
    cachedValidation(text, 'inv.yaml', dir, v.validate);
    expect(v.calls()).toBe(2);
  });

  it('does not use a directory others may write to', () => {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const v = counting();
    cachedValidation(text, 'inv.yaml', dir, v.validate);
    cachedValidation(text, 'inv.yaml', dir, v.validate);
    expect(v.calls()).toBe(2);
    expect(entries()).toEqual([]);
  });

  it("makes no folder in a place that is not the user's own", () => {
    const shared = path.join(base, `shared-${n}`);
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    dir = path.join(shared, 'cache', 'rollout', 'inventory');
    const v = counting();
    cachedValidation(text, 'inv.yaml', dir, v.validate);
    cachedValidation(text, 'inv.yaml', dir, v.validate);
    expect(v.calls()).toBe(2);
    expect(readdirSync(shared)).toEqual([]);
  });

  it('keeps the eight most recently used entries', () => {
    const v = counting();
    const texts = Array.from({ length: 10 }, (_, i) => `${text}\n# ${i}\n`);
    const order: string[] = [];
    texts.forEach((t, i) => {
      const before = new Set(entries());
      cachedValidation(t, 'inv.yaml', dir, v.validate);
      const added = entries().find((name) => !before.has(name)) ?? '';
      order.push(added);
      // Why: distinct mtimes, oldest first, whatever the file system's resolution.
      const at = new Date(Date.now() - (100 - i) * 1000);
      utimesSync(path.join(dir, added), at, at);
    });
    expect(entries().sort()).toEqual(order.slice(2).sort());
    const calls = v.calls();
    cachedValidation(texts[9] ?? '', 'inv.yaml', dir, v.validate);
    expect(v.calls()).toBe(calls);
  });
});

describe('codeIdentity', () => {
  it('changes when a file of the code changes, and not otherwise', () => {
    const code = path.join(base, 'code');
    mkdirSync(path.join(code, 'inventory'), { recursive: true });
    const file = path.join(code, 'inventory', 'validate.js');
    writeFileSync(file, 'export const a = 1;\n');
    const before = codeIdentity(code);
    expect(codeIdentity(code)).toBe(before);
    writeFileSync(file, 'export const a = 22;\n');
    expect(codeIdentity(code)).not.toBe(before);
  });
});

describe('loadInventory with a cache', () => {
  it('loads the same inventory as without one, first and second time', () => {
    const file = path.join(root, 'inventory/example.yaml');
    const plain = loadInventory(file, { home: '/home/op' });
    expect(loadInventory(file, { home: '/home/op', cacheDir: dir })).toStrictEqual(plain);
    expect(loadInventory(file, { home: '/home/op', cacheDir: dir })).toStrictEqual(plain);
    expect(entries()).toHaveLength(1);
  });
});

describe('inventoryCacheDir', () => {
  it('is under XDG_CACHE_HOME when absolute, else ~/.cache; off turns it off', () => {
    expect(inventoryCacheDir({ XDG_CACHE_HOME: '/var/cache/op', HOME: '/home/op' })).toBe(
      '/var/cache/op/rollout/inventory',
    );
    expect(inventoryCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/home/op' })).toBe('/home/op/.cache/rollout/inventory');
    expect(inventoryCacheDir({ HOME: '/home/op', ROLLOUT_INVENTORY_CACHE: 'off' })).toBeUndefined();
  });
});
