import { parsePoolKeyPath } from '../pool/store.js';
import type { PoolKey } from '../pool/types.js';

/** Every pool key of one datacenter lives under `<prefix>/<dc>/`. */
export function poolDcPrefix(prefix: string, dc: string): string {
  return `${prefix.replace(/\/+$/, '')}/${dc}/`;
}

/** `<prefix>/<dc>/<cluster>/<service>/<host>` → PoolKey; anything else → undefined (the store's rule). */
export function poolKeyFromPath(prefix: string, path: string): PoolKey | undefined {
  return parsePoolKeyPath(prefix, path) ?? undefined;
}
