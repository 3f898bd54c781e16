/** Stable error codes: scripts may match on them, so they never change (messages may). */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_INVENTORY'
  | 'E_SELECTION'
  | 'E_CAPACITY'
  | 'E_LOCKED'
  /** A deploy freeze (`rollout freeze`) covers a selected cluster: the run is refused, exit 3 like a held lock. */
  | 'E_FROZEN'
  /** The run's cluster locks are gone (lease expired, etcd lost too long): it may write nothing more. */
  | 'E_LOCK_LOST'
  | 'E_ETCD_UNREACHABLE'
  | 'E_POOL_CONFLICT'
  | 'E_POOL_VALUE'
  | 'E_POOL_MISSING'
  | 'E_SSH_CONNECT'
  | 'E_SSH_AUTH'
  | 'E_SSH_HOSTKEY'
  | 'E_SSH_TIMEOUT'
  | 'E_HEALTH'
  | 'E_DRAIN'
  | 'E_LB_CONFIRM'
  | 'E_RESTART'
  | 'E_INTERRUPTED'
  | 'E_HAPROXY'
  /** A host's opcache figures could not be read (opcache-threshold restarts). */
  | 'E_OPCACHE'
  /** Alertmanager did not take a host's silence (alerts.required): the host is left pooled, not restarted. */
  | 'E_ALERTS'
  | 'E_INTERNAL';

/** Exit codes of the CLI contract (docs/exit-codes.md). Only main.ts applies them. */
export const EXIT = {
  ok: 0,
  failedHosts: 1,
  usage: 2,
  /** A selected cluster is held: another run's lock (E_LOCKED) or a deploy freeze (E_FROZEN). */
  locked: 3,
  capacity: 4,
  etcdUnreachable: 5,
  /** EX_TEMPFAIL (sysexits.h): `recover --no-wait` met a dead run still inside its grace; retry later. */
  tempfail: 75,
  interrupted: 130,
} as const;

const exitByCode: Partial<Record<ErrorCode, number>> = {
  E_USAGE: EXIT.usage,
  E_INVENTORY: EXIT.usage,
  E_SELECTION: EXIT.usage,
  E_POOL_MISSING: EXIT.usage,
  E_CAPACITY: EXIT.capacity,
  E_LOCKED: EXIT.locked,
  E_FROZEN: EXIT.locked,
  E_ETCD_UNREACHABLE: EXIT.etcdUnreachable,
  E_INTERRUPTED: EXIT.interrupted,
};

export interface RolloutErrorOptions {
  /** The host at fault, as named in the inventory. */
  host?: string;
  /** The etcd key at fault. */
  key?: string;
  /** file:line:col or a key path, when the fault is in input. */
  where?: string;
  /** Every message when several input errors are reported at once. */
  details?: readonly string[];
  cause?: unknown;
}

/** The one error type: a stable code, the thing at fault, and a message that says what to do. */
export class RolloutError extends Error {
  readonly code: ErrorCode;
  readonly host: string | undefined;
  readonly key: string | undefined;
  readonly where: string | undefined;
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options: RolloutErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RolloutError';
    this.code = code;
    this.host = options.host;
    this.key = options.key;
    this.where = options.where;
    this.details = options.details ?? [];
  }

  get exitCode(): number {
    return exitByCode[this.code] ?? EXIT.failedHosts;
  }
}

export function isRolloutError(error: unknown, code?: ErrorCode): error is RolloutError {
  return error instanceof RolloutError && (code === undefined || error.code === code);
}

/** A readable one-liner for any thrown value, for summaries and logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
