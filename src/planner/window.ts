import type { Amount } from '../inventory/types.js';
import { formatAmount, rampSize } from './amount.js';

/** A cluster's sliding window: how many of its hosts may be in flight at once, as hosts complete. */
export interface WindowPlan {
  /** Width of stage i: the ramp entry i resolved, capped; the last repeats. Never empty. */
  readonly widths: readonly number[];
  /** e.g. "window 10 (10% of 100 hosts)", "ramp 1, 10%, 25% of 100 hosts → window 1, 10 after 1 done, 25 after 11 done". */
  readonly text: string;
}

/**
 * The window of a ramp over `total` hosts, each width at most `cap` (the guard's maxDepool, the
 * fleet-wide cap). Stage i lasts until as many hosts have completed as the ramp's first i+1
 * entries would have put in barrier batches, so both modes take the same steps up the ramp.
 */
export function planWindow(ramp: readonly Amount[], total: number, cap = Number.POSITIVE_INFINITY): WindowPlan {
  const widths = ramp.map((_, i) => Math.max(1, Math.min(cap, rampSize(ramp, i, total))));
  return { widths, text: describeWindow(ramp, widths, total) };
}

/** The window's width once `completed` hosts of the cluster have completed (done, failed or skipped). */
export function windowWidth(window: WindowPlan, completed: number): number {
  let reached = 0;
  for (const [i, width] of window.widths.entries()) {
    reached += width;
    if (completed < reached || i === window.widths.length - 1) return width;
  }
  return 1;
}

/** Completed-host counts at which each stage after the first opens: [1, 11] for widths [1, 10, 25]. */
export function stageStarts(window: WindowPlan): number[] {
  const starts: number[] = [];
  let reached = 0;
  for (const width of window.widths.slice(0, -1)) starts.push((reached += width));
  return starts;
}

function describeWindow(ramp: readonly Amount[], widths: readonly number[], total: number): string {
  if (total === 0) return 'no host to restart';
  const first = ramp[0];
  if (widths.length === 1 && first !== undefined)
    return `window ${widths[0]} (${formatAmount(first)} of ${total} hosts)`;
  const starts = stageStarts({ widths, text: '' });
  const steps = widths.map((w, i) => (i === 0 ? String(w) : `${w} after ${starts[i - 1]} done`));
  return `ramp ${ramp.map(formatAmount).join(', ')} of ${total} hosts → window ${steps.join(', ')}`;
}
