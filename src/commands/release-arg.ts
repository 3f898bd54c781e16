import { RolloutError } from '../errors.js';
import { gateReleaseUses, releaseNeededBy } from '../inventory/release-uses.js';
import type { InventoryCluster, ReleaseUse } from '../inventory/types.js';

/** A release id: starts with a letter or digit (so never an option like -oFoo), no "..", at most 128. */
export const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

/** `--release`: undefined, or a safe id (it is rendered into commands and URLs); E_USAGE otherwise. */
export function checkReleaseArg(release: string | undefined): string | undefined {
  if (release === undefined) return undefined;
  if (!RELEASE_ID.test(release) || release.includes('..'))
    throw new RolloutError(
      'E_USAGE',
      `--release: expected a release id that starts with a letter or digit, then letters, digits and ._:+- (no "..", at most 128), got ${JSON.stringify(release)}`,
      { where: '--release' },
    );
  return release;
}

/**
 * Without --release, a template that names {release} would fail at restart or health time, after
 * the depool: refused here, before anything is read or written, naming the setting and where it is.
 */
export function checkReleaseTemplates(
  clusters: readonly InventoryCluster[],
  options: { readonly release: string | undefined; readonly emergency: boolean; readonly skipGate: boolean },
): void {
  if (options.release !== undefined) return;
  const uses: ReleaseUse[] = [];
  for (const c of clusters) {
    uses.push(...gateReleaseUses(c, options));
    for (const h of c.hosts) uses.push(...releaseNeededBy(h, options));
  }
  const seen = [...new Map(uses.map((u) => [u.at, u] as const)).values()];
  const first = seen[0];
  if (first === undefined) return;
  throw new RolloutError(
    'E_USAGE',
    `${first.at}: ${first.setting} names {release}, which has a value only with --release: pass --release ID, or take {release} out of it. Nothing was changed`,
    { where: first.at, details: seen.length > 1 ? seen.map((u) => `${u.at}: ${u.setting} names {release}`) : [] },
  );
}
