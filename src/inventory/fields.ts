// Typed scalar readers for inventory settings: each one reports `expected …, got …` on a bad value.
import { isScalar, isSeq, type Node } from 'yaml';
import { deref, expected, error, isEmpty, join, type Ctx, type Located, where } from './yaml-nodes.js';

/** Placeholders a command or URL template may use (see src/transport/template.ts). */
export const TEMPLATE_VARS = ['host', 'address', 'port', 'service', 'dc', 'cluster', 'release'] as const;

/** What a setting's value must look like. */
export type Kind =
  | { readonly t: 'string' }
  /** `without`: placeholders that have no value where this template runs (e.g. {release} in a drain). */
  | { readonly t: 'template'; readonly without?: readonly string[] }
  | { readonly t: 'bool' }
  | { readonly t: 'strings' }
  | { readonly t: 'enum'; readonly values: readonly string[] }
  /** A nested value with its own reader (src/inventory/strategy-fields.ts). */
  | { readonly t: 'custom'; readonly read: (ctx: Ctx, node: Node | null, path: string) => unknown }
  | {
      readonly t: 'number';
      readonly min: number;
      readonly max?: number;
      readonly int?: boolean;
      readonly positive?: boolean;
      readonly unit?: string;
    };

export const seconds: Kind = { t: 'number', min: 0, unit: 'seconds' };
export const positiveSeconds: Kind = { t: 'number', min: 0, positive: true, unit: 'seconds' };
export const count = (min: number, max?: number): Kind =>
  max === undefined ? { t: 'number', min, int: true } : { t: 'number', min, max, int: true };

/** Reads one value; undefined when empty (`key:`) or invalid (then an error is recorded). */
export function readValue(ctx: Ctx, node: Node | null, path: string, kind: Kind): unknown {
  if (isEmpty(node)) return undefined;
  const v = isScalar(node) ? node.value : undefined;
  switch (kind.t) {
    case 'string':
    case 'template': {
      if (typeof v !== 'string' || v.trim() === '') return expected(ctx, node, path, 'a non-empty string');
      if (kind.t === 'template') checkTemplate(ctx, node, path, v, [], kind.without);
      return v;
    }
    case 'bool':
      return typeof v === 'boolean' ? v : expected(ctx, node, path, 'true or false');
    case 'enum':
      return typeof v === 'string' && kind.values.includes(v)
        ? v
        : expected(ctx, node, path, `one of ${kind.values.join(', ')}`);
    case 'strings':
      return readStrings(ctx, node, path);
    case 'custom':
      return kind.read(ctx, node, path);
    case 'number': {
      const bounds = describeBounds(kind);
      if (typeof v !== 'number' || !Number.isFinite(v)) return expected(ctx, node, path, bounds);
      const ok =
        v >= kind.min &&
        (kind.max === undefined || v <= kind.max) &&
        (!kind.int || Number.isInteger(v)) &&
        (!kind.positive || v > 0);
      return ok ? v : expected(ctx, node, path, bounds);
    }
  }
}

/** Reads `key` of a mapping as a Located value, so merged settings can say where they came from. */
export function readLocated<T>(ctx: Ctx, node: Node | null, path: string, kind: Kind): Located<T> | undefined {
  const value = readValue(ctx, node, path, kind);
  return value === undefined ? undefined : { value: value as T, where: where(ctx, node), path };
}

function describeBounds(kind: Extract<Kind, { t: 'number' }>): string {
  const noun = kind.int ? 'an integer' : kind.unit === undefined ? 'a number' : `a number of ${kind.unit}`;
  if (kind.max !== undefined) return `${noun} from ${kind.min} to ${kind.max}`;
  return kind.positive ? `${noun} > ${kind.min}` : `${noun} ≥ ${kind.min}`;
}

function readStrings(ctx: Ctx, node: Node | null, path: string): string[] | undefined {
  if (isScalar(node) && typeof node.value === 'string' && node.value !== '') return [node.value];
  if (!isSeq(node) || node.items.length === 0) return expected(ctx, node, path, 'a non-empty list of strings');
  const out: string[] = [];
  node.items.forEach((raw, i) => {
    const item = deref(ctx, raw);
    if (isScalar(item) && typeof item.value === 'string' && item.value !== '') out.push(item.value);
    else expected(ctx, item, join(path, `[${i}]`), 'a non-empty string');
  });
  return out.length === node.items.length ? out : undefined;
}

/** Why {release} has no value in a template that runs before the restart. */
export const BEFORE_RESTART = 'it runs before the restart, when no new release is served yet';

/** Records an error for every placeholder that is neither a TEMPLATE_VARS name nor one of `extra`, or is `without`. */
export function checkTemplate(
  ctx: Ctx,
  node: Node | null,
  path: string,
  template: string,
  extra: readonly string[] = [],
  without: readonly string[] = [],
): void {
  const known = [...TEMPLATE_VARS, ...extra].filter((n) => !without.includes(n));
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    const name = m[1] ?? '';
    if (without.includes(name)) {
      error(
        ctx,
        node,
        path,
        `{${name}} has no value in "${template}": ${BEFORE_RESTART} (known here: ${known.map((n) => `{${n}}`).join(' ')})`,
      );
    } else if (!known.includes(name)) {
      error(
        ctx,
        node,
        path,
        `unknown placeholder {${name}} in "${template}" (known: ${known.map((n) => `{${n}}`).join(' ')})`,
      );
    }
  }
}
