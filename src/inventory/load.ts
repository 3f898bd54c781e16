// The only I/O of the inventory: find the file, read it, validate it, expand `~`.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { RolloutError } from '../errors.js';
import { xdgDir } from '../xdg.js';
import type { Inventory, InventoryHost } from './types.js';
import { cachedValidation } from './validation-cache.js';
import { validateInventoryText } from './validate.js';

/** Where the inventory is read from when neither `-i` nor ROLLOUT_INVENTORY says otherwise. */
export const DEFAULT_INVENTORY_PATH = '/etc/rollout/inventory.yaml';

/** Inputs of resolveInventoryPath. */
export interface InventoryPathInput {
  /** The `-i/--inventory` flag. */
  readonly flag?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** `-i/--inventory`, then `ROLLOUT_INVENTORY`, then /etc/rollout/inventory.yaml; relative paths from cwd. */
export function resolveInventoryPath(input: InventoryPathInput): string {
  const chosen =
    [input.flag, input.env['ROLLOUT_INVENTORY']].find((p) => p !== undefined && p.trim() !== '') ??
    DEFAULT_INVENTORY_PATH;
  return path.resolve(input.cwd, expandHome(chosen, input.env['HOME'] ?? homedir()));
}

/**
 * `$XDG_CACHE_HOME/rollout/inventory`, else `~/.cache/rollout/inventory`; none when
 * ROLLOUT_INVENTORY_CACHE is `off`.
 */
export function inventoryCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env['ROLLOUT_INVENTORY_CACHE'] === 'off') return undefined;
  return path.join(xdgDir(env, 'XDG_CACHE_HOME', '.cache'), 'rollout', 'inventory');
}

/** Options of loadInventory; the defaults are the process's own. */
export interface LoadOptions {
  /** For `~` in paths (default: os.homedir()). */
  readonly home?: string;
  /** Receives the validation warnings (default: dropped). */
  readonly onWarning?: (message: string) => void;
  /** Where validated inventories are kept between runs (src/inventory/validation-cache.ts); none: validate every time. */
  readonly cacheDir?: string | undefined;
}

/** Reads and validates an inventory; throws RolloutError E_INVENTORY with every error in `details`. */
export function loadInventory(file: string, options: LoadOptions = {}): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'is not readable (permission denied)'
            : `cannot be read (${code ?? String(cause)})`;
    throw new RolloutError('E_INVENTORY', `inventory ${file} ${why}; pass -i FILE or set ROLLOUT_INVENTORY`, {
      where: file,
      cause,
    });
  }
  if (text.trim() === '')
    throw new RolloutError(
      'E_INVENTORY',
      `inventory ${file} is empty; see docs/inventory.md and inventory/example.yaml`,
      { where: file },
    );
  const result =
    options.cacheDir === undefined
      ? validateInventoryText(text, file)
      : cachedValidation(text, file, options.cacheDir, validateInventoryText);
  for (const w of result.warnings) options.onWarning?.(w);
  if (result.inventory === null) {
    const n = result.errors.length;
    const first = result.errors[0] ?? '';
    throw new RolloutError('E_INVENTORY', `${n} error${n === 1 ? '' : 's'} in ${file}${n === 1 ? `: ${first}` : ''}`, {
      details: result.errors,
      where: file,
    });
  }
  return expandPaths(result.inventory, path.resolve(file), options.home ?? homedir());
}

/** `~/x` → `<home>/x`; other paths are left as written. */
export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  return p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

function expandPaths(inv: Inventory, file: string, home: string): Inventory {
  const opt = (p: string | undefined): string | undefined => (p === undefined ? undefined : expandHome(p, home));
  const host = (h: InventoryHost): InventoryHost => {
    const ssh = {
      ...h.settings.ssh,
      knownHosts: expandHome(h.settings.ssh.knownHosts, home),
      identityFile: opt(h.settings.ssh.identityFile),
    };
    return { ...h, settings: { ...h.settings, ssh }, source: { ...h.source, file } };
  };
  return {
    ...inv,
    file,
    etcd: { ...inv.etcd, ca: opt(inv.etcd.ca), cert: opt(inv.etcd.cert), key: opt(inv.etcd.key) },
    datacenters: inv.datacenters.map((dc) => ({
      ...dc,
      clusters: dc.clusters.map((c) => ({ ...c, source: { ...c.source, file }, hosts: c.hosts.map(host) })),
    })),
  };
}
