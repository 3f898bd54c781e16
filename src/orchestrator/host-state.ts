import { RolloutError } from '../errors.js';

/** Where one host is in its life (DESIGN.md, "One host's life in a rolling restart"). */
export type HostState =
  | 'pending'
  | 'depooled'
  | 'lb-confirmed'
  | 'drained'
  | 'restarted'
  | 'healthy'
  | 'repooled'
  | 'done'
  | 'failed'
  | 'interrupted'
  /** Pool state changed since the plan (now inactive, missing or unreadable). */
  | 'skipped';

/** The allowed transitions; anything else is a bug in the sequencer and raises (as cumin does). */
const allowed: Readonly<Record<HostState, readonly HostState[]>> = {
  // `no` hosts and emergency runs go straight to the drain or the restart.
  pending: ['depooled', 'drained', 'restarted', 'failed', 'interrupted', 'skipped'],
  depooled: ['lb-confirmed', 'failed', 'interrupted'],
  'lb-confirmed': ['drained', 'failed', 'interrupted'],
  drained: ['restarted', 'failed', 'interrupted'],
  restarted: ['healthy', 'failed'],
  healthy: ['repooled', 'done', 'failed'],
  repooled: ['done'],
  done: [],
  failed: [],
  interrupted: [],
  skipped: [],
};

export function assertTransition(host: string, from: HostState, to: HostState): void {
  if (!allowed[from].includes(to)) {
    throw new RolloutError(
      'E_INTERNAL',
      `${host}: illegal host state transition ${from} → ${to} (a bug in rollout; please report it)`,
      { host },
    );
  }
}

export function isTerminal(state: HostState): boolean {
  return allowed[state].length === 0;
}

/** Where a retry of a failed step starts from: the state the host was in before it. Steps not here cannot be retried. */
const retryFrom: Partial<Record<string, HostState>> = {
  'lb-confirm': 'depooled',
  drain: 'lb-confirmed',
  restart: 'drained',
  health: 'restarted',
  repool: 'healthy',
};

/** The state to put a failed host back in to run its failed step again; undefined: not retryable. */
export function retryState(step: string, emergency: boolean, depooled: boolean): HostState | undefined {
  // Why: an emergency run (or a host others depooled) restarts straight from pending, with no drain before.
  if (step === 'restart' && (emergency || !depooled)) return 'pending';
  return retryFrom[step];
}
