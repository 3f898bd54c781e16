import { isRolloutError } from '../../../src/errors.js';
import type { PoolStore } from '../../../src/pool/types.js';

/**
 * Counts the depool transactions etcd refused (E_POOL_CONFLICT) on these stores: a race that never
 * overlapped proves nothing, so race tests check that some commit lost to another one.
 */
export function countRefused(pools: readonly PoolStore[]): { readonly count: number } {
  const counter = { count: 0 };
  for (const pool of pools) {
    const writeAll = pool.writeAll.bind(pool);
    Object.assign(pool, {
      writeAll: (...args: Parameters<typeof writeAll>) =>
        writeAll(...args).catch((error: unknown) => {
          if (isRolloutError(error, 'E_POOL_CONFLICT')) counter.count += 1;
          throw error;
        }),
    });
  }
  return counter;
}
