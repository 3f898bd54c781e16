// Test helpers: validate YAML text and find the line where a snippet stands.
import { validateInventoryText, type ValidationResult } from '../../../src/inventory/validate.js';

export const FILE = 'inv.yaml';

export function check(text: string): ValidationResult {
  return validateInventoryText(text, FILE);
}

/** 1-based line of the first line containing `needle` (the `nth` one, 1-based, if given). */
export function lineOf(text: string, needle: string, nth = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i]?.includes(needle)) {
      seen += 1;
      if (seen === nth) return i + 1;
    }
  }
  throw new Error(`"${needle}" not found`);
}

/** The one error of a result, failing loudly when there are none or several. */
export function onlyError(result: ValidationResult): string {
  if (result.errors.length !== 1)
    throw new Error(`expected exactly one error, got ${JSON.stringify(result.errors, null, 1)}`);
  return result.errors[0] ?? '';
}

/** A minimal valid inventory with `extra` lines inserted into the appserver cluster of eqiad. */
export function cluster(extra: string[], hosts: string[] = ['- "mw[1-4].eqiad.wmnet"']): string {
  return [
    'datacenters:',
    '  eqiad:',
    '    clusters:',
    '      appserver:',
    ...extra.map((l) => `        ${l}`),
    '        hosts:',
    ...hosts.map((l) => `          ${l}`),
    '',
  ].join('\n');
}
