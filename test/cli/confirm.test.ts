import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/kv/kv.js';
import { startEtcd, type TestEtcd } from '../support/etcd.js';
import { connect, hasStack, inventoryYaml, rolloutOnTty, SCRIPT, scratch, seed, writeFile } from './cli.js';
import { expectExit } from '../support/explain.js';

// The emergency confirmation on a real (pseudo-)terminal: the only way the prompt is shown.
const H = (n: number): string => `mw100${n}.eqiad.wmnet`;
let etcd: TestEtcd;
let kv: Kv;
let dir: string;
let remove: () => void;
let inventory: string;

beforeAll(async () => {
  etcd = await startEtcd();
  kv = await connect(etcd.endpoint);
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(etcd.endpoint, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet' }]),
  );
  const pooled = { pooled: 'yes', weight: 10 };
  await seed(kv, 'eqiad', 'appserver', { [H(1)]: pooled, [H(2)]: pooled, [H(3)]: pooled, [H(4)]: pooled });
});
afterAll(async () => {
  await kv?.close();
  await etcd?.stop();
  remove?.();
});

describe.skipIf(!fs.existsSync(SCRIPT))('sync --emergency on a terminal', { timeout: 120_000 }, () => {
  it('asks, and an answer other than yes changes nothing and exits 2', async () => {
    const before = await kv.revision();
    const r = await rolloutOnTty(['-i', inventory, 'sync', '--emergency'], 'n\r', { cwd: dir });
    expect(r.stdout).toContain('EMERGENCY: hard-restart 4 host(s) in 1 cluster(s)');
    expect(r.stdout).toContain('not confirmed; nothing was changed');
    expectExit(r, 2);
    expect(await kv.revision()).toBe(before);
  });

  it('treats Ctrl-C at the prompt as an interruption: exit 130, nothing changed, no stack trace', async () => {
    const before = await kv.revision();
    const r = await rolloutOnTty(['-i', inventory, 'sync', '--emergency'], '\u0003', { cwd: dir });
    expect(r.stdout).toContain('interrupted at the confirmation prompt');
    expect(r.stdout).not.toContain('internal error');
    expect(hasStack(r.stdout)).toBe(false);
    expectExit(r, 130);
    expect(await kv.revision()).toBe(before);
  });
});
