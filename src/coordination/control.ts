import { ROLLOUT_PREFIX } from '../keyspace.js';
import type { Kv, KvEntry, Watch } from '../kv/kv.js';
import { listLocks, type LockHolder } from './lock.js';

/** `/rollout/v1/control/<runId>`: the last steering command for a run (pause, resume, abort), from any machine. */
export const CONTROL_PREFIX = `${ROLLOUT_PREFIX}control/`;

export type ControlAction = 'pause' | 'resume' | 'abort';

export interface ControlCommand {
  readonly action: ControlAction;
  readonly user: string;
  readonly machine: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
}

export function controlKey(runId: string): string {
  return `${CONTROL_PREFIX}${runId}`;
}

export function parseControl(raw: string): ControlCommand | null {
  try {
    const value = JSON.parse(raw) as Partial<Record<keyof ControlCommand, unknown>> | null;
    const action = value?.action;
    if (action !== 'pause' && action !== 'resume' && action !== 'abort') return null;
    if (typeof value?.user !== 'string') return null;
    return {
      action,
      user: value.user,
      machine: typeof value.machine === 'string' ? value.machine : '',
      reason: typeof value.reason === 'string' ? value.reason : '',
      at: typeof value.at === 'string' ? value.at : '',
    };
  } catch {
    return null;
  }
}

/** Writes a steering command for a run; the run's watch sees it within a round trip. */
export async function sendControl(kv: Kv, runId: string, command: ControlCommand): Promise<number> {
  return kv.put(controlKey(runId), JSON.stringify(command));
}

/** The run's own cleanup at its end: a stale command must not steer a later run (ids are never reused anyway). */
export async function clearControl(kv: Kv, runId: string): Promise<void> {
  await kv.delete(controlKey(runId)).catch(() => false);
}

/** A run that holds at least one cluster lock: a live run, as steering and `rollout status` see it. */
export interface LiveRunRef {
  readonly runId: string;
  readonly holder: LockHolder;
  readonly clusters: readonly { readonly dc: string; readonly cluster: string }[];
}

/** The live runs, from the lock keys (each lease-bound to its run), oldest first. `recover` holds locks too; it is not steerable. */
export async function listLiveRuns(kv: Kv): Promise<LiveRunRef[]> {
  const byRun = new Map<string, { holder: LockHolder; clusters: { dc: string; cluster: string }[] }>();
  for (const lock of await listLocks(kv)) {
    if (lock.holder === null || lock.holder.runId.startsWith('recover-')) continue;
    const run = byRun.get(lock.holder.runId) ?? { holder: lock.holder, clusters: [] };
    run.clusters.push({ dc: lock.dc, cluster: lock.cluster });
    byRun.set(lock.holder.runId, run);
  }
  return [...byRun.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([runId, run]) => ({ runId, ...run }));
}

/** How long to wait before watching again after etcd cut the watch (a compaction, a lost stream). */
const REWATCH_MS = 1000;

/**
 * Follows a run's control key with an etcd watch (no polling): calls `onCommand` for the command
 * there at the start, and for each one written after. On a resync it reads the key again and
 * watches from there. Returns the function that stops it.
 */
export async function watchControl(
  kv: Kv,
  runId: string,
  onCommand: (command: ControlCommand) => void,
  onWarning: (message: string) => void = () => undefined,
): Promise<() => Promise<void>> {
  const key = controlKey(runId);
  let seen = 0;
  let closed = false;
  let watch: Watch | undefined;
  const deliver = (entry: KvEntry): void => {
    if (entry.key !== key || entry.modRevision <= seen || closed) return;
    seen = entry.modRevision;
    const command = parseControl(entry.value);
    if (command === null) onWarning(`${key}: not a steering command, ignored: ${entry.value.slice(0, 200)}`);
    else onCommand(command);
  };
  const start = async (): Promise<void> => {
    const range = await kv.range(key);
    for (const entry of range.entries) deliver(entry);
    watch = await kv.watch(key, range.revision, {
      onEvent: (event) => void (event.type === 'put' && deliver(event.entry)),
      onResync: (reason) => {
        if (closed) return;
        onWarning(`the watch on ${key} was cut (${reason}): watching again`);
        retry();
      },
    });
  };
  const retry = (): void => {
    const timer = setTimeout(() => {
      if (!closed) start().catch(retry);
    }, REWATCH_MS);
    timer.unref();
  };
  await start();
  return async () => {
    closed = true;
    await watch?.close();
  };
}
