import type { Amount } from '../inventory/types.js';
import { formatAmount, resolveAmount } from './amount.js';
import type { ClusterPlan, GuardArithmetic } from './types.js';

/**
 * The capacity guard of one cluster, from the pool state read.
 * T counts `yes` and `no` hosts only: `missing` and `malformed` hosts have no usable pool
 * entry, so the load balancer is not sending them traffic either (like `inactive` ones).
 * `no` hosts are in T but not pooled: hosts others depooled eat into the margin.
 */
export function guardArithmetic(input: { minPooled: Amount; yes: number; no: number }): GuardArithmetic {
  const considered = input.yes + input.no;
  const required = resolveAmount(input.minPooled, considered);
  const pooled = input.yes;
  const maxDepool = Math.max(0, pooled - required);
  const text =
    `min ${formatAmount(input.minPooled)} of ${considered} → ${required} must stay pooled; ` +
    `${pooled} pooled → at most ${maxDepool} depooled at once`;
  return { minPooled: input.minPooled, considered, required, pooled, maxDepool, text };
}

/** Why no batch can start, with the numbers, and what the operator can do about it. */
export function blockedBy(
  guard: GuardArithmetic,
  where: { cluster: string; dc: string },
): NonNullable<ClusterPlan['blocked']> {
  const reason =
    `capacity guard: ${guard.required} of ${guard.considered} hosts of ${where.cluster}@${where.dc} must stay pooled ` +
    `(min ${formatAmount(guard.minPooled)}) and ${guard.pooled} are pooled, so no host can be depooled; ` +
    `repool hosts depooled by hand or lower the cluster's minPooled`;
  return { reason, pooled: guard.pooled, required: guard.required };
}
