import os from 'node:os';
import path from 'node:path';

/**
 * An XDG base directory: `variable` when it is an absolute path, else `~/<fallback>` (the XDG
 * spec says a relative value is invalid and must be ignored).
 */
export function xdgDir(
  env: Readonly<Record<string, string | undefined>>,
  variable: 'XDG_STATE_HOME' | 'XDG_CACHE_HOME',
  fallback: string,
): string {
  const value = env[variable];
  return value !== undefined && path.isAbsolute(value) ? value : path.join(env['HOME'] || os.homedir(), fallback);
}
