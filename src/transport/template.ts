import { isIPv6 } from 'node:net';
import { RolloutError } from '../errors.js';

/** Values a command or URL template may name: {host} {address} {port} {service} {dc} {cluster} {release}. */
export type TemplateVars = Readonly<Record<string, string | number | undefined>>;

const PLACEHOLDER = /\{([a-z]+)\}/g;

/** POSIX single-quoting: the one quoting that no character can escape from. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

function render(template: string, vars: TemplateVars, encode: (value: string) => string): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      throw new RolloutError(
        'E_USAGE',
        `template "${template}" uses {${name}}, which has no value here (known: ${Object.keys(vars)
          .filter((k) => vars[k] !== undefined)
          .map((k) => `{${k}}`)
          .join(' ')})`,
        { where: whole },
      );
    }
    return encode(String(value));
  });
}

/** Renders a command template; every substituted value is shell-quoted, so no value can run anything. */
export function renderCommand(template: string, vars: TemplateVars): string {
  return render(template, vars, shellQuote);
}

/** Renders a URL template; values are percent-encoded except in the authority, where host names stand as they are. */
export function renderUrl(template: string, vars: TemplateVars): string {
  return render(template, vars, (value) => {
    // Why: an IPv6 literal in a URL must be bracketed, or "http://::1:8080/" names no host at all.
    if (isIPv6(value)) return `[${value}]`;
    return /^[A-Za-z0-9.:[\]-]+$/.test(value) ? value : encodeURIComponent(value);
  });
}
