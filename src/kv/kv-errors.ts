import { RolloutError } from '../errors.js';
import type { TxnCondition } from './kv.js';

/** The one message for a lost compare-and-swap, shared by every Kv adapter. */
export function conflictError(key: string, expected: number, found: number): RolloutError {
  return new RolloutError(
    'E_POOL_CONFLICT',
    `pool key ${key} changed since it was read (expected revision ${expected}, found ${found}): someone else wrote it; re-run to use the new value`,
    { key },
  );
}

/** A transaction whose condition no longer held: something it compared changed since it was read. */
export function txnConflictError(condition: TxnCondition, changed?: string): RolloutError {
  const names = [
    ...(condition.unchangedSince ?? []).map((r) => `${r.prefix}*`),
    ...(condition.keys ?? []).map((k) => k.key),
  ];
  const what =
    changed ?? (names.length > 3 ? `${names.slice(0, 3).join(', ')} or ${names.length - 3} more` : names.join(', '));
  return new RolloutError(
    'E_POOL_CONFLICT',
    `${what} changed since it was read, so the transaction wrote nothing: someone else wrote meanwhile`,
    { key: changed ?? names[0] ?? '' },
  );
}

const refusals = [
  'EtcdAuthenticationFailedError',
  'EtcdPermissionDeniedError',
  'EtcdUserNotFoundError',
  'GRPCUnauthenticatedError',
];

/**
 * etcd could not be reached, did not answer in time, or refused our credentials, at `endpoint`.
 * All are E_ETCD_UNREACHABLE (exit 5): rollout cannot use etcd, nothing was changed by this call.
 */
export function unreachableError(endpoint: string, cause: unknown, user?: string): RolloutError {
  // Why: grpc-js appends an empty "Resolution note:" that only adds noise to a one-line message.
  const why = (cause instanceof Error ? cause.message : String(cause)).replace(/\.?\s*Resolution note:\s*$/, '');
  const refused =
    cause instanceof Error &&
    (refusals.includes(cause.constructor.name) ||
      /user name is empty|permission denied|authentication failed/i.test(why));
  if (refused) {
    const who = user === undefined ? 'without a username' : `as user ${user}`;
    return new RolloutError(
      'E_ETCD_UNREACHABLE',
      `etcd at ${endpoint} refused access ${who} (${why}): check etcd.username, etcd.passwordEnv and the etcd role grants`,
      { cause },
    );
  }
  return new RolloutError(
    'E_ETCD_UNREACHABLE',
    `etcd unreachable at ${endpoint} (${why}): check etcd.endpoints / --etcd`,
    { cause },
  );
}

/** A put bound to a lease that has expired or been revoked: the holder lost what the lease protected. */
export function leaseGoneError(key: string, leaseId: string): RolloutError {
  return new RolloutError(
    'E_INTERNAL',
    `cannot write ${key}: lease ${leaseId} has expired or was revoked (the run lost its locks); stop and run rollout recover`,
    { key },
  );
}

const ELECTION = /etcdserver: (leader changed|no leader|request timed out, possibly due to previous leader failure)/;

/** What etcd members answer while the cluster elects a leader (a second or two): worth asking again. */
export function isElectionError(error: unknown): boolean {
  const cause = error instanceof Error ? (error.cause ?? error) : undefined;
  return cause instanceof Error && ELECTION.test(cause.message);
}

/** etcd's answer for a lease id it no longer knows. */
export function isLeaseNotFound(error: unknown): boolean {
  return error instanceof Error && /lease not found/i.test(error.message);
}
