// Counts and percentages: batch sizes, minPooled and per-cluster failure budgets.
import { isScalar, isSeq, type Node } from 'yaml';
import type { Amount } from './types.js';
import { deref, expected, isEmpty, join, type Ctx } from './yaml-nodes.js';

/** The range each kind of amount may take. */
export interface AmountRule {
  /** Smallest count allowed (1 for batch sizes, 0 otherwise). */
  readonly minCount: number;
  /** Percentages must be above 0 (batch sizes) or may be 0. */
  readonly zeroPercent: boolean;
}

export const BATCH_RULE: AmountRule = { minCount: 1, zeroPercent: false };
export const FRACTION_RULE: AmountRule = { minCount: 0, zeroPercent: true };

const PERCENT = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/;

/** Reads `3` or `"10%"`; undefined (with an error recorded) when invalid. */
export function readAmount(ctx: Ctx, node: Node | null, path: string, rule: AmountRule): Amount | undefined {
  const lowest = rule.zeroPercent ? '0%' : 'above 0%';
  const what = `a count ≥ ${rule.minCount} or a percentage ${lowest} and up to 100% like "10%"`;
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v === 'number') {
    return Number.isInteger(v) && v >= rule.minCount ? { kind: 'count', value: v } : expected(ctx, node, path, what);
  }
  if (typeof v !== 'string') return expected(ctx, node, path, what);
  const m = PERCENT.exec(v);
  const pct = m === null ? Number.NaN : Number(m[1]);
  if (Number.isNaN(pct) || pct > 100 || (!rule.zeroPercent && pct <= 0)) return expected(ctx, node, path, what);
  return { kind: 'percent', value: pct };
}

/** A batch size: one amount, or a ramp list whose last entry repeats (`[1, "10%", "25%"]`). */
export function readBatchSizes(ctx: Ctx, node: Node | null, path: string): Amount[] | undefined {
  if (isEmpty(node)) return undefined;
  if (!isSeq(node)) {
    const one = readAmount(ctx, node, path, BATCH_RULE);
    return one === undefined ? undefined : [one];
  }
  if (node.items.length === 0)
    return expected(ctx, node, path, 'a count, a percentage or a non-empty ramp list like [1, "10%", "25%"]');
  const out: Amount[] = [];
  node.items.forEach((raw, i) => {
    const a = readAmount(ctx, deref(ctx, raw), join(path, `[${i}]`), BATCH_RULE);
    if (a !== undefined) out.push(a);
  });
  return out.length === node.items.length ? out : undefined;
}
