// Natural order for host names: digit runs compare by value, so mw2 sorts before mw10.

const chunk = /(\d+)/;

/** Compares two strings in natural order (case-sensitive, digit runs by numeric value). */
export function naturalCompare(a: string, b: string): number {
  const pa = a.split(chunk);
  const pb = b.split(chunk);
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i += 1) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    // split() with a capture group puts digit runs at odd indexes.
    if (i % 2 === 1) {
      const diff = compareDigits(x, y);
      if (diff !== 0) return diff;
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numeric comparison of digit strings of any length; equal values: shorter (less padded) first. */
function compareDigits(x: string, y: string): number {
  const sx = x.replace(/^0+(?=\d)/, '');
  const sy = y.replace(/^0+(?=\d)/, '');
  if (sx.length !== sy.length) return sx.length - sy.length;
  if (sx !== sy) return sx < sy ? -1 : 1;
  return x.length - y.length;
}
