// ClusterShell-style nodesets: `mw[1001-1003,1010].eqiad.wmnet`, `db[01-10]`, several groups.
export { naturalCompare } from './natural-sort.js';

/** The hosts a nodeset names, or why it is malformed. */
export type NodesetResult = { readonly hosts: string[] } | { readonly error: string };

/** Refuse nodesets that would expand to absurd fleets (a typo like `[1-1000000]`), counted before any name is built. */
export const MAX_NODESET_HOSTS = 10_000;

/** One bracket item, not yet expanded: `from`…`to`, zero-padded to `width`. */
interface Range {
  readonly from: number;
  readonly to: number;
  readonly width: number;
}

/**
 * Expands a nodeset pattern into host names, in pattern order (cartesian product of groups).
 * A plain name expands to itself. Zero-padded bounds keep their width (`[01-10]` → 01…10).
 */
export function expandNodeset(pattern: string): NodesetResult {
  const parts: (string | Range[])[] = [];
  let i = 0;
  let literal = '';
  while (i < pattern.length) {
    const ch = pattern[i] ?? '';
    if (ch === ']') return { error: `unbalanced "]" at position ${i + 1}` };
    if (ch !== '[') {
      literal += ch;
      i += 1;
      continue;
    }
    const close = pattern.indexOf(']', i + 1);
    const nested = pattern.indexOf('[', i + 1);
    if (close === -1 || (nested !== -1 && nested < close)) return { error: `unbalanced "[" at position ${i + 1}` };
    parts.push(literal);
    literal = '';
    const group = parseGroup(pattern.slice(i + 1, close));
    if ('error' in group) return group;
    parts.push(group.ranges);
    i = close + 1;
  }
  parts.push(literal);
  // Why: count first, so `x[1-100000]` × 5 is refused without building half a million strings.
  let total = 1;
  for (const p of parts) {
    if (typeof p === 'string') continue;
    total *= p.reduce((n, r) => n + (r.to - r.from + 1), 0);
    if (total > MAX_NODESET_HOSTS) return { error: `expands to more than ${MAX_NODESET_HOSTS} hosts` };
  }
  let hosts = [''];
  for (const p of parts) {
    const items = typeof p === 'string' ? [p] : p.flatMap(expandRange);
    hosts = hosts.flatMap((prefix) => items.map((s) => prefix + s));
  }
  return { hosts };
}

function expandRange(r: Range): string[] {
  const out: string[] = [];
  for (let n = r.from; n <= r.to; n += 1) out.push(String(n).padStart(r.width, '0'));
  return out;
}

/** Parses the inside of one bracket group, `1-3,7,09-11`, into ranges (nothing expanded yet). */
function parseGroup(body: string): { readonly ranges: Range[] } | { readonly error: string } {
  if (body.trim() === '') return { error: 'empty group "[]"' };
  const ranges: Range[] = [];
  for (const raw of body.split(',')) {
    const item = raw.trim();
    if (item === '') return { error: `empty item in group "[${body}]"` };
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (m === null) return { error: `"${item}" in group "[${body}]" is not a number or a range like 1-10` };
    const lo = m[1] ?? '';
    const hi = m[2] ?? lo;
    const from = Number(lo);
    const to = Number(hi);
    if (to < from) return { error: `reversed range "${item}" (write ${hi}-${lo})` };
    if (to - from + 1 > MAX_NODESET_HOSTS) return { error: `range "${item}" has more than ${MAX_NODESET_HOSTS} hosts` };
    // A leading zero means fixed width, like ClusterShell: [01-10] → 01 … 10.
    ranges.push({ from, to, width: lo.length > 1 && lo.startsWith('0') ? lo.length : 0 });
  }
  return { ranges };
}
