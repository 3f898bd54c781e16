import { RolloutError } from '../errors.js';
import type { Amount } from '../inventory/types.js';

/**
 * `ceil(amount × total)` for a percentage (`value` 10 means 10%), the value itself for a count.
 * Rounded up because a percentage that yields no host would never make progress.
 */
export function resolveAmount(amount: Amount, total: number): number {
  if (amount.kind === 'count') return amount.value;
  // Round away float noise (33.3 × 3 = 99.899…) before ceil, so 10% of 20 is 2, not 3.
  const exact = Math.round(amount.value * total * 1e6) / 1e8;
  return Math.ceil(exact);
}

/** A batch size for `total` hosts: at least 1, at most `total` (0 when there is nothing to do). */
export function batchSizeFor(amount: Amount, total: number): number {
  if (total <= 0) return 0;
  return Math.min(total, Math.max(1, resolveAmount(amount, total)));
}

/** The size of batch `index` (0-based): entry i sizes batch i, the last entry repeats. */
export function rampSize(ramp: readonly Amount[], index: number, total: number): number {
  const amount = ramp[Math.min(index, ramp.length - 1)];
  if (amount === undefined)
    throw new RolloutError('E_USAGE', 'batch size: expected at least one count or percentage like "10%", got none');
  return batchSizeFor(amount, total);
}

/** `10%` or `3`, as written in the inventory. */
export function formatAmount(amount: Amount): string {
  return amount.kind === 'percent' ? `${amount.value}%` : String(amount.value);
}
