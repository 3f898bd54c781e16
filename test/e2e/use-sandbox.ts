import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { parseDocument, type Document } from 'yaml';
import { sandboxDown, sandboxUp, type SandboxState, type SandboxUpOptions } from '../../scripts/lib/sandbox.mjs';
import { connectEtcd } from '../../src/kv/etcd-kv.js';
import type { Kv } from '../../src/kv/kv.js';
import { etcdSettings } from '../support/etcd-settings.js';
import { until, writeTestInventory } from './helpers.js';

/** One sandbox for a test file, its test inventory and an etcd client; filled in by beforeAll. */
export interface SandboxFixture {
  sandbox: SandboxState;
  inventory: string;
  kv: Kv;
  /** Beside the sandbox dir (which must hold only what the sandbox made). */
  work: string;
}

/** Registers beforeAll/afterAll: sandbox up on its own net, the test inventory edited by `edit`, every LB agent registered. */
export function useSandbox(
  name: string,
  options: SandboxUpOptions,
  edit: (doc: Document, sandbox: SandboxState) => void,
): SandboxFixture {
  const fx = {} as SandboxFixture;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `ro-${name}-`));
    fx.sandbox = await sandboxUp({ ...options, dir });
    fx.work = fs.mkdtempSync(path.join(os.tmpdir(), `ro-${name}-work-`));
    fx.inventory = path.join(fx.work, `${name}.yaml`);
    writeTestInventory(fx.sandbox, fx.inventory);
    const doc = parseDocument(fs.readFileSync(fx.inventory, 'utf8'));
    edit(doc, fx.sandbox);
    fs.writeFileSync(fx.inventory, doc.toString());
    fx.kv = await connectEtcd(etcdSettings(fx.sandbox.etcd.endpoint));
    for (const dc of fx.sandbox.dcs)
      await until(`the LB agent of ${dc}`, async () => (await fx.kv.list(`/rollout/v1/lb/${dc}/agents/`)).length > 0);
  }, 180_000);
  afterAll(async () => {
    await fx.kv?.close();
    if (dir) await sandboxDown({ dir });
    if (fx.work) fs.rmSync(fx.work, { recursive: true, force: true });
  }, 60_000);
  return fx;
}
