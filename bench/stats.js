// Small statistics and formatting helpers shared by the benchmarks.

/** The q-quantile (0…1) of numbers, nearest-rank; NaN for an empty list. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values) => quantile(values, 0.5);

/** Milliseconds since `start` (a process.hrtime.bigint() value), as a float. */
export function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs fn and resolves its result with the elapsed milliseconds. */
export async function timed(fn) {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: msSince(start) };
}

/** 1 decimal below 100, whole numbers above: enough for a table. */
export function fmt(n) {
  if (typeof n !== 'number') return String(n);
  if (!Number.isFinite(n)) return '–';
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(n === Math.trunc(n) ? 0 : 1);
}
