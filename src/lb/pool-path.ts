import type { PoolKey } from '../pool/types.js';

/** The prefix without trailing slashes: `/conftool/v1/pools/` → `/conftool/v1/pools`. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

/** Every pool key of one datacenter lives under `<prefix>/<dc>/`. */
export function poolDcPrefix(prefix: string, dc: string): string {
  return `${normalizePrefix(prefix)}/${dc}/`;
}

/** `<prefix>/<dc>/<cluster>/<service>/<host>` → PoolKey; anything else (deeper, shallower, empty part) → undefined. */
export function poolKeyFromPath(prefix: string, path: string): PoolKey | undefined {
  const base = `${normalizePrefix(prefix)}/`;
  if (!path.startsWith(base)) return undefined;
  const parts = path.slice(base.length).split('/');
  if (parts.length !== 4 || parts.some((part) => part === '')) return undefined;
  const [dc, cluster, service, host] = parts as [string, string, string, string];
  return { dc, cluster, service, host };
}
