import type { Deps } from '../deps.js';
import { describeError, isRolloutError } from '../errors.js';
import type { InventoryHost } from '../inventory/types.js';
import { poolKeyId, type PoolEntry } from '../pool/types.js';
import type { BatchMarker } from '../coordination/journal.js';
import type { JournalHostRecord } from './types.js';

/** A run whose lock lease is gone without it finishing: what it journaled per host. */
export interface DeadRun {
  readonly runId: string;
  readonly command: string;
  readonly who: string;
  readonly startedAt: string;
  readonly hosts: readonly JournalHostRecord[];
  /** Its batch depools' commit markers: the revision each listed host was depooled at. */
  readonly batches: readonly BatchMarker[];
  /** It finished, but left hosts it depooled unresolved (rather than dying). */
  readonly finished?: boolean;
}

/** A journaled host the run depooled and neither repooled nor handed back: recover's to look at. */
export function unresolved(record: JournalHostRecord): boolean {
  return record.phase !== 'repooled' && record.phase !== 'left' && record.prior?.pooled === 'yes';
}

export type RecoverAction =
  'repooled' | 'would-repool' | 'unhealthy' | 'changed-since' | 'not-depooled' | 'unknown-host';

export interface RecoverOutcome {
  readonly runId: string;
  readonly host: string;
  readonly dc: string;
  readonly cluster: string;
  /** The pool (conftool service) of the key: a host in several pools has one outcome per key. */
  readonly service?: string;
  readonly phase: string;
  readonly prior: string;
  readonly action: RecoverAction;
  readonly detail: string;
}

export interface RecoverPorts {
  record(runId: string, entry: JournalHostRecord): Promise<void>;
  finish(runId: string, outcome: string): Promise<void>;
}

/**
 * True only when the key is untouched since the dead run wrote it: its mod revision is the run's
 * write, journaled, or (killed between the depool transaction and the journal update) the revision
 * of the batch marker that the same transaction wrote. Nothing weaker: a manual depool writes
 * exactly the value a run would.
 */
export function stillOurs(
  record: JournalHostRecord,
  entry: PoolEntry | undefined,
  batches: readonly BatchMarker[],
): boolean {
  if (entry?.state !== 'present') return false;
  const { dc, cluster, host } = record.key;
  const wrote =
    record.wroteRevision ??
    batches.find((b) => b.dc === dc && b.cluster === cluster && b.hosts.includes(host))?.revision;
  return wrote !== undefined && entry.modRevision === wrote;
}

async function healthy(
  deps: Pick<Deps, 'probe' | 'sleep'>,
  host: InventoryHost,
): Promise<{ ok: boolean; detail: string }> {
  const { attempts, intervalSeconds } = host.settings.health;
  let last = { ok: false, detail: 'not checked' };
  for (let i = 0; i < Math.max(1, attempts); i += 1) {
    last = await deps.probe.check(host, { release: undefined });
    if (last.ok) return last;
    if (i + 1 < attempts) await deps.sleep(intervalSeconds * 1000);
  }
  return last;
}

/**
 * Finishes what dead runs left: each host they depooled and that still holds their write is
 * health-checked and put back to its prior state; others are reported. With act=false it only
 * says what it would do. Idempotent: a second pass finds nothing left to do.
 */
export async function recoverRuns(
  deps: Pick<Deps, 'pool' | 'probe' | 'sleep' | 'clock'>,
  input: {
    readonly runs: readonly DeadRun[];
    readonly hosts: ReadonlyMap<string, InventoryHost>;
    readonly act: boolean;
    readonly who: string;
    readonly ports: RecoverPorts;
  },
): Promise<RecoverOutcome[]> {
  const outcomes: RecoverOutcome[] = [];
  // Why: a host in several pools has one record per key, and one health check answers for all of them.
  const checked = new Map<string, Promise<{ ok: boolean; detail: string }>>();
  for (const run of input.runs) {
    let left = 0;
    for (const record of run.hosts) {
      if (!unresolved(record) || record.prior === null) continue;
      const base = {
        runId: run.runId,
        host: record.key.host,
        dc: record.key.dc,
        cluster: record.key.cluster,
        service: record.key.service,
        phase: record.phase,
        prior: record.prior.pooled,
      };
      const entry = (await deps.pool.read([record.key])).get(poolKeyId(record.key));
      if (!stillOurs(record, entry, run.batches)) {
        const now =
          entry?.state === 'present'
            ? `pooled=${entry.value.pooled}, revision ${entry.modRevision}`
            : (entry?.state ?? 'missing');
        const action: RecoverAction =
          entry?.state === 'present' && entry.value.pooled === 'yes' ? 'not-depooled' : 'changed-since';
        outcomes.push({
          ...base,
          action,
          detail:
            action === 'not-depooled'
              ? `already pooled (${now})`
              : `changed by someone else since the run (${now}): left alone`,
        });
        if (input.act)
          await input.ports.record(run.runId, {
            ...record,
            recoveredBy: input.who,
            phase: 'left',
            updatedAt: new Date(deps.clock.now()).toISOString(),
            note: `recover (${input.who}): ${now}`,
          });
        continue;
      }
      const host = input.hosts.get(record.key.host);
      if (!host) {
        outcomes.push({
          ...base,
          action: 'unknown-host',
          detail: 'not in the inventory any more: repool it by hand after checking it',
        });
        left += 1;
        continue;
      }
      if (!input.act) {
        outcomes.push({
          ...base,
          action: 'would-repool',
          detail: 'depooled by the dead run; would be health-checked and repooled',
        });
        continue;
      }
      let check = checked.get(host.name);
      if (check === undefined) {
        check = healthy(deps, host).catch((error: unknown) => ({ ok: false, detail: describeError(error) }));
        checked.set(host.name, check);
      }
      const health = await check;
      if (!health.ok) {
        outcomes.push({
          ...base,
          action: 'unhealthy',
          detail: `health check failed (${health.detail}): left depooled`,
        });
        left += 1;
        continue;
      }
      const present = entry as Extract<PoolEntry, { state: 'present' }>;
      let revision: number;
      try {
        revision = await deps.pool.write(present, { pooled: record.prior.pooled });
      } catch (error) {
        // Why: someone wrote the key during the health check; theirs wins, and the other hosts still get recovered.
        if (!isRolloutError(error, 'E_POOL_CONFLICT')) throw error;
        outcomes.push({
          ...base,
          action: 'changed-since',
          detail: `changed by someone else during the health check: left alone (${error.message})`,
        });
        await input.ports.record(run.runId, {
          ...record,
          recoveredBy: input.who,
          phase: 'left',
          updatedAt: new Date(deps.clock.now()).toISOString(),
          note: `recover (${input.who}): changed during the health check`,
        });
        continue;
      }
      await input.ports.record(run.runId, {
        ...record,
        recoveredBy: input.who,
        phase: 'repooled',
        updatedAt: new Date(deps.clock.now()).toISOString(),
        note: `repooled by recover (${input.who}) at revision ${revision}`,
      });
      outcomes.push({
        ...base,
        action: 'repooled',
        detail: `healthy (${health.detail}); repooled at revision ${revision}`,
      });
    }
    if (input.act && left === 0) await input.ports.finish(run.runId, `recovered by ${input.who}`);
  }
  return outcomes;
}
