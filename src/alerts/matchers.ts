import { RolloutError } from '../errors.js';
import type { SilenceMatcher } from './types.js';

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s][^"]*?))\s*$/;

/** A matcher as written in the inventory, before its placeholders are filled: `instance=~"{host}(:[0-9]+)?"`. */
export interface MatcherTemplate {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** Parses `name op "value"` (the PromQL/amtool matcher syntax); undefined when it is not one. */
export function parseMatcher(text: string): MatcherTemplate | undefined {
  const m = MATCHER.exec(text);
  if (!m) return undefined;
  const value = m[3] === undefined ? (m[4] ?? '') : m[3].replace(/\\(.)/g, '$1');
  return { name: m[1] ?? '', op: m[2] as MatcherTemplate['op'], value };
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Fills `{host}`-style placeholders; in a regex matcher every value is escaped, so a host name's
 * dots match dots only. A placeholder without a value is an error, never an empty match.
 */
export function renderMatcher(template: MatcherTemplate, vars: Readonly<Record<string, unknown>>): SilenceMatcher {
  const isRegex = template.op === '=~' || template.op === '!~';
  const value = fill(template.value, vars, isRegex ? escapeRegex : (v) => v, `matcher ${template.name}`);
  return { name: template.name, value, isRegex, isEqual: template.op === '=' || template.op === '=~' };
}

/** Fills placeholders of a free text (a silence comment); unknown ones stay as written. */
export function renderText(template: string, vars: Readonly<Record<string, unknown>>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
    const value = vars[name];
    return value === undefined || value === null ? whole : String(value as string | number);
  });
}

function fill(
  template: string,
  vars: Readonly<Record<string, unknown>>,
  encode: (value: string) => string,
  what: string,
): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (_whole, name: string) => {
    const value = vars[name];
    if (value === undefined || value === null)
      throw new RolloutError('E_ALERTS', `${what}: {${name}} has no value for this host`, { where: template });
    return encode(String(value as string | number));
  });
}

/** `instance=~"mw1\.eqiad(:[0-9]+)?"`: a matcher as amtool and the Alertmanager UI write it. */
export function describeMatcher(m: SilenceMatcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}
