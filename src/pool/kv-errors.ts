import { RolloutError } from '../errors.js';

/** The one message for a lost compare-and-swap, shared by every Kv adapter. */
export function conflictError(key: string, expected: number, found: number): RolloutError {
  return new RolloutError(
    'E_POOL_CONFLICT',
    `pool key ${key} changed since it was read (expected revision ${expected}, found ${found}): someone else wrote it; re-run to use the new value`,
    { key },
  );
}

/** etcd could not be reached (or did not answer in time) at `endpoint`. */
export function unreachableError(endpoint: string, cause: unknown): RolloutError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new RolloutError('E_ETCD_UNREACHABLE', `etcd unreachable at ${endpoint} (${why}): check etcd.endpoints / --etcd`, { cause });
}
