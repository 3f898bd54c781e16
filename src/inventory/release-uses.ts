// Where {release} is named, so a run without --release is refused before its first write.
import type { RawSettings } from './settings.js';
import type { InventoryCluster, InventoryHost, ReleaseUse } from './types.js';
import type { Located } from './yaml-nodes.js';

const NAMES_RELEASE = /\{release\}/;

function use(setting: string, located: Located<unknown> | undefined): ReleaseUse[] {
  if (located === undefined) return [];
  return NAMES_RELEASE.test(JSON.stringify(located.value))
    ? [{ setting, at: `${located.where}: ${located.path}` }]
    : [];
}

function fieldsOf(setting: string, located: Located<unknown> | undefined): ReleaseUse[] {
  const value = located?.value;
  if (located === undefined || typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((k) =>
    use(`${setting}.${k}`, { ...located, value: (value as Record<string, unknown>)[k] }),
  );
}

/** The {release} templates of a host's merged settings (restart and health; drain and opcache may not name it). */
export function hostReleaseUses(raw: RawSettings): ReleaseUse[] {
  const { restart, health } = raw.groups;
  return [
    ...use('restart.command', restart['command']),
    ...use('restart.emergencyCommand', restart['emergencyCommand']),
    ...fieldsOf('restart.dualMaster', restart['dualMaster']),
    ...use('health.url', health['url']),
    ...use('health.command', health['command']),
  ];
}

/** The {release} templates of a cluster's canary gate. */
export function clusterReleaseUses(raw: RawSettings): ReleaseUse[] {
  const canary = raw.top['canary'] as Located<{ gate?: unknown }> | undefined;
  const gate = canary === undefined ? undefined : { ...canary, value: canary.value.gate };
  return fieldsOf('canary.gate', gate).filter(
    (u) => u.setting === 'canary.gate.command' || u.setting === 'canary.gate.url',
  );
}

/** The {release} templates a run would render for this host: the ones its strategy, mode and health type use. */
export function releaseNeededBy(host: InventoryHost, options: { readonly emergency: boolean }): ReleaseUse[] {
  const uses = host.releaseUses ?? [];
  const s = host.settings;
  const dual = s.restart.strategy === 'dual-master' && s.restart.dualMaster !== undefined;
  const wrote = (setting: string): boolean => uses.some((u) => u.setting === setting);
  const restart =
    options.emergency && wrote('restart.emergencyCommand') ? 'restart.emergencyCommand' : 'restart.command';
  return uses.filter((u) => {
    if (dual) return u.setting.startsWith('restart.dualMaster.');
    if (u.setting.startsWith('restart.')) return u.setting === restart;
    return u.setting === `health.${s.health.type === 'http' ? 'url' : 'command'}`;
  });
}

/** The gate's {release} templates, when this run would ask the gate (a canary, not an emergency, not skipped). */
export function gateReleaseUses(
  cluster: InventoryCluster,
  options: { readonly emergency: boolean; readonly skipGate: boolean },
): readonly ReleaseUse[] {
  if (options.emergency || options.skipGate || cluster.settings.canary === undefined) return [];
  return cluster.releaseUses ?? [];
}
