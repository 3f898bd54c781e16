// Reading YAML nodes with positions: every problem becomes one `file:line:col: key.path: …` message.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { closest } from './suggest.js';

/** Collects the messages of one validation run (internal to the inventory module). */
export interface Ctx {
  readonly file: string;
  readonly doc: Document;
  readonly lineCounter: LineCounter | undefined;
  readonly errors: string[];
  readonly warnings: string[];
}

/** One `key: value` of a mapping: the key node locates the key, the value node the value. */
export interface Entry {
  readonly key: Node | null;
  readonly value: Node | null;
}

/** A value that remembers where it was written, for messages about merged settings. */
export interface Located<T> {
  readonly value: T;
  readonly where: string;
  readonly path: string;
}

/** `file:line:col` of a node (1-based); the file alone when positions are unknown. */
export function where(ctx: Ctx, node: Node | null | undefined): string {
  const offset = node?.range?.[0];
  if (offset === undefined || ctx.lineCounter === undefined) return `${ctx.file}:1:1`;
  const { line, col } = ctx.lineCounter.linePos(offset);
  return `${ctx.file}:${line}:${col}`;
}

export function error(ctx: Ctx, node: Node | null | undefined, path: string, message: string): void {
  const text = `${where(ctx, node)}: ${path}: ${message}`;
  if (!ctx.errors.includes(text)) ctx.errors.push(text);
}

export function warn(ctx: Ctx, node: Node | null | undefined, path: string, message: string): void {
  const text = `${where(ctx, node)}: ${path}: ${message}`;
  if (!ctx.warnings.includes(text)) ctx.warnings.push(text);
}

/** `expected X, got Y` with Y described from the node. */
export function expected(ctx: Ctx, node: Node | null | undefined, path: string, what: string): undefined {
  error(ctx, node, path, `expected ${what}, got ${describe(node)}`);
  return undefined;
}

export function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return node.items.length === 0 ? 'an empty list' : 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing (an empty value)';
    if (typeof v === 'string') return JSON.stringify(v);
    return String(v);
  }
  return 'an unsupported YAML node';
}

/** Follows `*alias` references so anchors can be reused in an inventory. */
export function deref(ctx: Ctx, node: unknown): Node | null {
  if (isAlias(node)) return (node.resolve(ctx.doc) as Node | undefined) ?? null;
  return (node as Node | null | undefined) ?? null;
}

/** True for a missing value or an empty one (`key:` with nothing after it). */
export function isEmpty(node: Node | null): boolean {
  return node === null || (isScalar(node) && (node.value === null || node.value === undefined));
}

/**
 * The entries of a mapping node, by key. Unknown keys are reported with a "did you mean" hint,
 * unless `allowed` is undefined (free-form keys such as datacenter names).
 */
export function readMap(
  ctx: Ctx,
  node: Node | null,
  path: string,
  allowed: readonly string[] | undefined,
  misplaced: Readonly<Record<string, string>> = {},
): Map<string, Entry> | undefined {
  if (!isMap(node)) {
    expected(ctx, node, path, 'a mapping');
    return undefined;
  }
  const out = new Map<string, Entry>();
  for (const pair of withMergeKeys(ctx, node, path, 0)) {
    const key = deref(ctx, pair.key);
    const value = deref(ctx, pair.value);
    if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
      expected(ctx, key, path, 'a plain key');
      continue;
    }
    const name = String(key.value);
    const sub = join(path, name);
    if (allowed !== undefined && !allowed.includes(name)) {
      const why = misplaced[name];
      if (why !== undefined) {
        error(ctx, key, sub, why);
        continue;
      }
      const hint = closest(name, allowed);
      const tail = hint === undefined ? ` (known keys: ${allowed.join(', ')})` : `; did you mean "${hint}"?`;
      error(ctx, key, sub, `unknown key "${name}"${tail}`);
      continue;
    }
    out.set(name, { key, value });
  }
  return out;
}

/** Joins key paths: `a` + `b` → `a.b`, `a` + `[2]` → `a[2]`. */
export function join(path: string, key: string): string {
  if (path === '') return key;
  return key.startsWith('[') ? `${path}${key}` : `${path}.${key}`;
}

const MERGE = '<<';

const keyName = (ctx: Ctx, key: unknown): unknown => {
  const k = deref(ctx, key);
  return isScalar(k) ? k.value : k;
};

/**
 * The pairs of a mapping with YAML merge keys (`<<: *defaults`) applied: written keys win, then
 * earlier merged mappings over later ones, as the YAML merge-key spec says.
 */
function withMergeKeys(ctx: Ctx, node: YAMLMap, path: string, depth: number): Pair[] {
  const own = node.items.filter((p) => keyName(ctx, p.key) !== MERGE);
  if (own.length === node.items.length) return node.items;
  const names = new Set(own.map((p) => keyName(ctx, p.key)));
  const merged: Pair[] = [];
  for (const p of node.items.filter((q) => keyName(ctx, q.key) === MERGE)) {
    const value = deref(ctx, p.value);
    const sources = isSeq(value) ? value.items.map((i) => deref(ctx, i)) : [value];
    for (const src of sources) {
      if (!isMap(src) || depth > 20) {
        expected(ctx, src, join(path, MERGE), 'a mapping or a list of mappings to merge');
        continue;
      }
      for (const q of withMergeKeys(ctx, src, path, depth + 1)) {
        const n = keyName(ctx, q.key);
        if (!names.has(n)) {
          names.add(n);
          merged.push(q);
        }
      }
    }
  }
  return [...own, ...merged];
}
