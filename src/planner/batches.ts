import { RolloutError } from '../errors.js';
import type { Amount } from '../inventory/types.js';
import { formatAmount, rampSize } from './amount.js';
import type { PlannedBatch, PlannedHost } from './types.js';

/**
 * Cuts the hosts, in order, into batches sized by the ramp (entry i sizes batch i, the last
 * repeats). A batch also ends early before a `yes` host that would take it past `maxDepool`
 * depools; `no` hosts are already depooled and do not count. Batches run one after the other
 * and repool before the next, so the guard holds per batch.
 * Emergency plans pass `maxDepool: Infinity`, so their batches are exactly the graceful ones
 * whenever the guard does not shrink them: the same ramp over the same order.
 */
export function cutBatches(input: {
  hosts: readonly PlannedHost[];
  ramp: readonly Amount[];
  maxDepool: number;
}): PlannedBatch[] {
  const { hosts, ramp, maxDepool } = input;
  const batches: PlannedBatch[] = [];
  let next = 0;
  while (next < hosts.length) {
    const size = rampSize(ramp, batches.length, hosts.length);
    const batch: PlannedHost[] = [];
    let depools = 0;
    for (let host = hosts[next]; host !== undefined && batch.length < size; host = hosts[next]) {
      if (host.depool && depools >= maxDepool) break;
      if (host.depool) depools += 1;
      batch.push(host);
      next += 1;
    }
    // Only reachable with maxDepool 0 and a `yes` host first: the caller marks that blocked.
    if (batch.length === 0)
      throw new RolloutError(
        'E_INTERNAL',
        'cutBatches: no batch fits maxDepool 0; the planner must block the cluster instead',
      );
    batches.push({ hosts: batch });
  }
  return batches;
}

/**
 * The batch arithmetic in words:
 * "10% of 20 hosts → 2 per batch, rounded up", "ramp 1, 10%, 25% of 20 hosts → 1, 2, 5, 5…".
 */
export function describeBatchSize(ramp: readonly Amount[], toRestart: number): string {
  if (toRestart === 0) return 'no host to restart';
  const first = ramp[0];
  if (ramp.length === 1 && first !== undefined) {
    const size = rampSize(ramp, 0, toRestart);
    const rounding = first.kind === 'percent' ? ', rounded up' : '';
    const capped = first.kind === 'count' && first.value > toRestart ? `, capped at ${toRestart}` : '';
    return `${formatAmount(first)} of ${toRestart} hosts → ${size} per batch${rounding}${capped}`;
  }
  // One size per ramp entry, then the last once more: it repeats.
  const sizes = Array.from({ length: ramp.length + 1 }, (_, i) => rampSize(ramp, i, toRestart));
  return `ramp ${ramp.map(formatAmount).join(', ')} of ${toRestart} hosts → ${sizes.join(', ')}…`;
}
