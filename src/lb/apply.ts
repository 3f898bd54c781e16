import { RolloutError } from '../errors.js';
import { parsePoolValue } from '../pool/store.js';
import type { PoolKey, Pooled } from '../pool/types.js';
import type { AdminState, HaproxyServerState } from './haproxy.js';

/** Default mapping: pool key `<dc>/<cluster>/<service>/<host>` → backend `<dc>_<cluster>`, server `<host>`. */
export const DEFAULT_BACKEND_TEMPLATE = '{dc}_{cluster}';

/** Where one pool key lives in HAProxy. */
export interface ServerTarget {
  readonly backend: string;
  readonly server: string;
}

/** What the agent could read from a pool value. */
export type DesiredPool =
  | { readonly readable: true; readonly pooled: Pooled; readonly weight: number }
  | { readonly readable: false; readonly reason: string };

/** One runtime API change, in the order it must be made. */
export type ServerAction =
  { readonly type: 'weight'; readonly weight: number } | { readonly type: 'state'; readonly state: AdminState };

/** The outcome of comparing a pool value with what HAProxy has. */
export interface ServerPlan {
  readonly actions: readonly ServerAction[];
  /** Publish an applied key once the actions succeed (the LB no longer contradicts the value). */
  readonly confirm: boolean;
  /** Depooled and draining: move to maint once idle (see shouldEnterMaint). */
  readonly drainToMaint: boolean;
  /** Why nothing is confirmed, for the log. */
  readonly skipReason?: string;
}

const PLACEHOLDERS = ['dc', 'cluster', 'service', 'host'] as const;

/** Throws E_USAGE when the template names an unknown placeholder or yields no name. */
export function validateBackendTemplate(template: string): void {
  const unknown = [...template.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1] ?? '')
    .filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
  if (template.trim() === '' || unknown.length > 0) {
    throw new RolloutError(
      'E_USAGE',
      `--backend-template ${JSON.stringify(template)}: use a non-empty name with placeholders ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')} (unknown: ${unknown.join(', ') || 'none'}); default ${DEFAULT_BACKEND_TEMPLATE}`,
    );
  }
}

export function serverTarget(key: PoolKey, template: string = DEFAULT_BACKEND_TEMPLATE): ServerTarget {
  const backend = template.replace(
    /\{(dc|cluster|service|host)\}/g,
    (_m, name: (typeof PLACEHOLDERS)[number]) => key[name],
  );
  return { backend, server: key.host };
}

/** Reads a conftool value with the store's rules, plus HAProxy's weight range (0–256). */
export function readPoolValue(raw: string): DesiredPool {
  const parsed = parsePoolValue(raw);
  if (!parsed.ok) return { readable: false, reason: parsed.reason };
  const { pooled, weight } = parsed.value;
  // Why: HAProxy refuses other weights; a value the LB cannot apply must not half-apply.
  if (weight < 0 || weight > 256)
    return { readable: false, reason: `weight must be from 0 to 256 for HAProxy, got ${weight}` };
  return { readable: true, pooled, weight };
}

/**
 * The pure decision: which runtime API changes bring the server in line with the pool value.
 * Never turns a server on from a value it cannot read.
 */
export function planServer(desired: DesiredPool, current: HaproxyServerState): ServerPlan {
  if (!desired.readable) {
    return {
      actions: [],
      confirm: false,
      drainToMaint: false,
      skipReason: `unreadable pool value (${desired.reason}): HAProxy left as it is`,
    };
  }
  const actions: ServerAction[] = [];
  switch (desired.pooled) {
    case 'yes':
      // Why: weight first, so the server takes traffic at the right weight from its first request.
      if (current.weight !== desired.weight) actions.push({ type: 'weight', weight: desired.weight });
      if (current.admin !== 'ready') actions.push({ type: 'state', state: 'ready' });
      return { actions, confirm: true, drainToMaint: false };
    case 'no':
      // Why: drain already stops new traffic, which is what the orchestrator waits for; maint is stronger.
      if (current.admin === 'ready') actions.push({ type: 'state', state: 'drain' });
      return { actions, confirm: true, drainToMaint: current.admin !== 'maint' };
    case 'inactive':
      if (current.admin !== 'maint') actions.push({ type: 'state', state: 'maint' });
      return { actions, confirm: true, drainToMaint: false };
  }
}

/** A drained server goes to maint when it has no session left, or after the bound anyway. */
export function shouldEnterMaint(input: {
  readonly sessions: number;
  readonly drainingSinceMs: number;
  readonly nowMs: number;
  readonly maintAfterMs: number;
}): boolean {
  return input.sessions <= 0 || input.nowMs - input.drainingSinceMs >= input.maintAfterMs;
}

/** The state HAProxy has after the plan's actions (for a cache of what the agent last saw). */
export function afterActions(current: HaproxyServerState, actions: readonly ServerAction[]): HaproxyServerState {
  return actions.reduce<HaproxyServerState>(
    (state, action) =>
      action.type === 'weight' ? { ...state, weight: action.weight } : { ...state, admin: action.state },
    current,
  );
}

/** Exponential backoff for retries of one key: base, 2×base, … capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
}
