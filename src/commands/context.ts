import os from 'node:os';
import type { Io } from '../cli/io.js';
import { RolloutError } from '../errors.js';
import { inventoryCacheDir, loadInventory, resolveInventoryPath } from '../inventory/load.js';
import type { Amount, BatchMode, Inventory } from '../inventory/types.js';
import { connectEtcd } from '../kv/etcd-kv.js';
import { ENDPOINT } from '../kv/plain-auth.js';
import { connectV2Pool } from '../pool/etcd-v2-connect.js';
import type { Kv } from '../kv/kv.js';
import type { PoolFeed } from '../pool/etcd-v2-watch.js';
import { createPoolStore } from '../pool/store.js';
import type { PoolStore } from '../pool/types.js';

/** Options every command takes (src/cli/index.ts). */
export interface CommonArgs {
  readonly inventory?: string | undefined;
  readonly etcd?: readonly string[] | undefined;
  readonly json?: boolean | undefined;
  readonly 'log-file'?: string | undefined;
}

export function loadFor(args: CommonArgs, io: Io): Inventory {
  return loadInventory(
    resolveInventoryPath({
      ...(args.inventory === undefined ? {} : { flag: args.inventory }),
      env: io.env,
      cwd: io.cwd,
    }),
    // Why: a warning (a minPooled larger than its cluster…) is for the operator to read, not to drop.
    {
      onWarning: (message) => void io.stderr.write(`rollout: warning: ${message}\n`),
      cacheDir: inventoryCacheDir(io.env),
    },
  );
}

/** Once per message: the v3 and the v2 client both look at the same endpoints. */
function warnOnce(io: Io): (message: string) => void {
  const said = new Set<string>();
  return (message) => {
    if (said.has(message)) return;
    said.add(message);
    io.stderr.write(`rollout: warning: ${message}\n`);
  };
}

export interface PoolConnection {
  readonly kv: Kv;
  readonly pool: PoolStore;
  /** Where the pool keys are listed when they are not on `kv` (etcd.poolApi v2). */
  readonly feed?: PoolFeed;
  close(): Promise<void>;
}

export async function connectPool(inventory: Inventory, args: CommonArgs, io: Io): Promise<PoolConnection> {
  const endpoints =
    args.etcd && args.etcd.length > 0
      ? args.etcd
          .flatMap((e) => e.split(','))
          .map((e) => e.trim())
          .filter(Boolean)
      : undefined;
  if (endpoints?.length === 0)
    throw new RolloutError(
      'E_USAGE',
      '--etcd: expected an endpoint like https://conf1001.eqiad.wmnet:2379, got nothing',
      { where: '--etcd' },
    );
  const bad = endpoints?.find((e) => !ENDPOINT.test(e));
  if (bad !== undefined)
    throw new RolloutError(
      'E_USAGE',
      `--etcd: expected an endpoint URL like https://conf1001.eqiad.wmnet:2379, got ${JSON.stringify(bad)}`,
      { where: '--etcd' },
    );
  const onWarning = warnOnce(io);
  const kv = await connectEtcd(inventory.etcd, { ...(endpoints ? { endpoints } : {}), env: io.env, onWarning });
  if (inventory.etcd.poolApi === 'v2')
    return connectV2Pool(kv, inventory.etcd, { ...(endpoints ? { endpoints } : {}), env: io.env, onWarning });
  return { kv, pool: createPoolStore(kv, inventory.etcd.prefix), close: () => kv.close() };
}

/** Who is running this, for locks, journals and manual records. */
export function whoami(io: Io): { user: string; machine: string; pid: number } {
  let user = io.env['SUDO_USER'] ?? io.env['USER'] ?? io.env['LOGNAME'];
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return { user, machine: os.hostname(), pid: process.pid };
}

/** `3`, `"10%"`: the same grammar as the inventory's batch.size entries. */
export function parseAmountArg(option: string, text: string): Amount {
  const trimmed = text.trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(trimmed);
  if (percent) {
    const value = Number(percent[1]);
    if (value > 0 && value <= 100) return { kind: 'percent', value };
  } else if (/^\d+$/.test(trimmed)) {
    const value = Number(trimmed);
    if (option === '--failure-budget' || value > 0) return { kind: 'count', value };
  }
  const zeroOk = option === '--failure-budget' ? '0 or more' : 'a positive count';
  throw new RolloutError(
    'E_USAGE',
    `${option}: expected ${zeroOk} or a percentage like "10%" (at most 100%), got "${text}"`,
    { where: option },
  );
}

export function parseRampArg(option: string, text: string): Amount[] {
  return text.split(',').map((part) => parseAmountArg(option, part));
}

/** --batch-mode: window or barrier (yargs checks the choice too; a direct caller gets the same message). */
export function parseBatchMode(text: string | undefined): BatchMode | undefined {
  if (text === undefined || text === 'window' || text === 'barrier') return text;
  throw new RolloutError('E_USAGE', `--batch-mode: expected window or barrier, got "${text}"`, {
    where: '--batch-mode',
  });
}
