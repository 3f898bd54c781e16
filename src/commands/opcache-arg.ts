import { RolloutError } from '../errors.js';
import type { InventoryCluster } from '../inventory/types.js';

/**
 * `--if-opcache-above P%`: a percentage from 0 to 100. Every selected host needs somewhere to read
 * its opcache figures from (restart.opcache.url or .command), or nothing is started.
 */
export function parseOpcacheAbove(text: string | undefined, clusters: readonly InventoryCluster[]): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const value = m ? Number(m[1]) : Number.NaN;
  if (!(value >= 0 && value <= 100)) {
    throw new RolloutError(
      'E_USAGE',
      `--if-opcache-above: expected a percentage from 0% to 100% like "80%", got "${text}"`,
      { where: '--if-opcache-above' },
    );
  }
  const blind = clusters.flatMap((c) => c.hosts).find((h) => h.settings.restart.opcache === undefined);
  if (blind !== undefined) {
    throw new RolloutError(
      'E_USAGE',
      `--if-opcache-above: ${blind.name} has no restart.opcache.url or restart.opcache.command to read its opcache use from (${blind.source.file}:${blind.source.line}); set one (e.g. in defaults). Nothing was changed`,
      { host: blind.name, where: '--if-opcache-above' },
    );
  }
  return value;
}
