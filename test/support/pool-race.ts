// Two guarded depools racing on one cluster (test/integration/pool/): the race and its evidence.
import { expect } from 'vitest';
import { depoolCluster } from '../../src/commands/pool.js';
import { isRolloutError, type ErrorCode } from '../../src/errors.js';
import type { InventoryCluster, InventoryHost } from '../../src/inventory/types.js';
import type { PoolStore } from '../../src/pool/types.js';

/**
 * Counts the commits the stores refused with E_POOL_CONFLICT from now on: a race that never
 * overlapped proves nothing, so a race test asserts this is above 0.
 */
export function countConflicts(pools: readonly PoolStore[]): () => number {
  let refused = 0;
  for (const pool of pools) {
    const writeAll = pool.writeAll.bind(pool);
    Object.assign(pool, {
      writeAll: (...args: Parameters<typeof writeAll>) =>
        writeAll(...args).catch((error: unknown) => {
          if (isRolloutError(error, 'E_POOL_CONFLICT')) refused += 1;
          throw error;
        }),
    });
  }
  return () => refused;
}

/** Depools `a` through one store and `b` through the other at the same moment; resolves how many won. */
export async function raceDepools(
  pools: readonly PoolStore[],
  cluster: InventoryCluster,
  a: InventoryHost,
  b: InventoryHost,
  refusals: readonly ErrorCode[] = ['E_CAPACITY', 'E_POOL_CONFLICT'],
): Promise<number> {
  const results = await Promise.allSettled([
    depoolCluster(pools[0] as PoolStore, cluster, [a], false),
    depoolCluster(pools[1] as PoolStore, cluster, [b], false),
  ]);
  for (const r of results)
    if (r.status === 'rejected')
      expect(
        refusals.some((code) => isRolloutError(r.reason, code)),
        String(r.reason),
      ).toBe(true);
  return results.filter((r) => r.status === 'fulfilled').length;
}
