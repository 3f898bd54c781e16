// A host in several pools has one key per service; these read them as the one host they are.
import { poolKeyId, type PoolEntry, type PoolKey, type PoolSnapshot } from './types.js';

/** The host's entries, one per key, in the order of its services (missing keys as `missing`). */
export function hostEntries(snapshot: PoolSnapshot, keys: readonly PoolKey[]): PoolEntry[] {
  return keys.map((key) => snapshot.get(poolKeyId(key)) ?? { key, state: 'missing' });
}

/**
 * One entry that stands for all of a host's keys, for the decisions made per host. The worst key
 * wins: malformed, then missing, then inactive. Otherwise `pooled: yes` when the run has something
 * to depool (any key yes), else `no`. With one key it is that entry, unchanged.
 */
export function hostEntry(entries: readonly PoolEntry[]): PoolEntry | undefined {
  if (entries.length <= 1) return entries[0];
  const first = entries[0] as PoolEntry;
  const worst =
    entries.find((e) => e.state === 'malformed') ??
    entries.find((e) => e.state === 'missing') ??
    entries.find((e) => e.state === 'present' && e.value.pooled === 'inactive');
  if (worst !== undefined) return worst;
  const present = entries.filter((e): e is PoolEntry & { state: 'present' } => e.state === 'present');
  const base = present[0] ?? (first as PoolEntry & { state: 'present' });
  const pooled = present.some((e) => e.value.pooled === 'yes') ? 'yes' : 'no';
  return {
    key: base.key,
    state: 'present',
    value: { ...base.value, pooled },
    modRevision: Math.max(...present.map((e) => e.modRevision)),
  };
}

/** Pooled for the capacity guard: `yes` in every service (a restart takes the host out of all of them). */
export function pooledEverywhere(entries: readonly PoolEntry[]): boolean {
  return entries.length > 0 && entries.every((e) => e.state === 'present' && e.value.pooled === 'yes');
}
