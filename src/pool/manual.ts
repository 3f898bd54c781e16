import type { Kv } from '../kv/kv.js';
import { ROLLOUT_PREFIX } from '../keyspace.js';
import { poolKeyFromParts, poolKeyId } from './types.js';
import type { PoolKey, PoolStore } from './types.js';

/** Manual pool/depool records: `/rollout/v1/manual/<dc>/<cluster>/<service>/<host>`. */
export const MANUAL_PREFIX = `${ROLLOUT_PREFIX}manual/`;

export function manualKey(key: PoolKey): string {
  return `${MANUAL_PREFIX}${key.dc}/${key.cluster}/${key.service}/${key.host}`;
}

/** `/rollout/v1/manual/<dc>/<cluster>/<service>/<host>`: the last manual pool/depool of a host. */
export interface ManualRecord {
  readonly action: 'pool' | 'depool';
  readonly user: string;
  readonly machine: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly time: string;
  /** modRevision of the pool key write this record describes. */
  readonly revision: number;
}

/** A manual record as read, with the host it belongs to. */
export interface ManualEntry extends ManualRecord {
  readonly key: PoolKey;
}

function parseRecord(raw: string): ManualRecord | null {
  try {
    const value = JSON.parse(raw) as Partial<Record<keyof ManualRecord, unknown>> | null;
    if (typeof value !== 'object' || value === null) return null;
    const { action, user, machine, reason, time, revision } = value;
    if ((action !== 'pool' && action !== 'depool') || typeof user !== 'string' || typeof time !== 'string') return null;
    if (typeof revision !== 'number') return null;
    return {
      action,
      user,
      machine: typeof machine === 'string' ? machine : '',
      reason: typeof reason === 'string' ? reason : '',
      time,
      revision,
    };
  } catch {
    return null;
  }
}

/** Overwrites the host's manual record (last change wins; the pool key itself is the truth). */
export async function recordManual(kv: Kv, key: PoolKey, record: ManualRecord): Promise<void> {
  await kv.put(manualKey(key), JSON.stringify(record));
}

/** Every readable manual record, keyed by poolKeyId(); unreadable ones are skipped. */
export async function readManual(kv: Kv): Promise<Map<string, ManualEntry>> {
  const records = new Map<string, ManualEntry>();
  for (const entry of await kv.list(MANUAL_PREFIX)) {
    const key = poolKeyFromParts(entry.key.slice(MANUAL_PREFIX.length));
    const record = parseRecord(entry.value);
    if (key !== null && record !== null) records.set(poolKeyId(key), { ...record, key });
  }
  return records;
}

/** Removes a host's record, e.g. once a rollout or recover has repooled it. */
export async function clearManual(kv: Kv, key: PoolKey): Promise<boolean> {
  return kv.delete(manualKey(key));
}

/**
 * Deletes the manual records of a cluster whose pool key has changed since the write they describe
 * (someone, or a rollout, wrote it again): they no longer say who set the key as it is. Each delete
 * is a CAS on the record, so a record written meanwhile stays. Returns how many went.
 */
export async function pruneManual(pool: PoolStore, dc: string, cluster: string): Promise<number> {
  const prefix = `${MANUAL_PREFIX}${dc}/${cluster}/`;
  const records = (await pool.kv.list(prefix)).flatMap((entry) => {
    const key = poolKeyFromParts(entry.key.slice(MANUAL_PREFIX.length));
    const record = parseRecord(entry.value);
    return key === null || record === null ? [] : [{ entry, key, record }];
  });
  if (records.length === 0) return 0;
  const snapshot = await pool.read(records.map((r) => r.key));
  let pruned = 0;
  for (const { entry, key, record } of records) {
    const now = snapshot.get(poolKeyId(key));
    const current = now?.state === 'missing' || now === undefined ? 0 : now.modRevision;
    if (current === record.revision) continue;
    if (await pool.kv.delete(entry.key, { expectModRevision: entry.modRevision }).catch(() => false)) pruned += 1;
  }
  return pruned;
}
