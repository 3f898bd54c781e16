import type { InventoryCluster } from '../../inventory/types.js';
import type { SlotGrant } from '../../coordination/semaphore.js';
import type { HostRun } from '../host-run.js';
import type { StepContext } from '../step-context.js';
import type { RestartScope } from '../types.js';

/** The slots a batch holds: each host gives its own back when it ends (repooled, failed, skipped). */
export interface BatchSlots {
  release(run: HostRun): Promise<void>;
  releaseAll(): Promise<void>;
}

const none: BatchSlots = { release: async () => undefined, releaseAll: async () => undefined };

export function scopeOf(kind: RestartScope, run: HostRun): string {
  const { dc, cluster, service } = run.key;
  return kind === 'service'
    ? `service/${service}`
    : kind === 'datacenter-cluster'
      ? `dc-cluster/${dc}/${cluster}`
      : `dc-service/${dc}/${service}`;
}

/**
 * Takes a restart slot for every pending host of the batch before its depool (an emergency
 * batch: before its restart), one request per scope, scopes in a fixed order so two runs never
 * each hold half of what the other waits for.
 */
export async function takeSlots(
  ctx: StepContext,
  cluster: InventoryCluster,
  runs: readonly HostRun[],
  batch: number,
): Promise<BatchSlots> {
  const cap = ctx.options.restartSlots;
  const slots = ctx.deps.slots;
  const wanting = runs.filter((r) => r.state === 'pending');
  if (cap === undefined || slots === undefined || wanting.length === 0) return none;
  const byScope = new Map<string, HostRun[]>();
  for (const run of wanting)
    byScope.set(scopeOf(cap.scope, run), [...(byScope.get(scopeOf(cap.scope, run)) ?? []), run]);
  const grants = new Map<HostRun, SlotGrant>();
  const held: SlotGrant[] = [];
  try {
    for (const [scope, scoped] of [...byScope].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const hosts = scoped.map((r) => r.name);
      const started = ctx.deps.clock.now();
      let waited = false;
      const holder = {
        ...cap.who,
        runId: ctx.options.runId,
        dc: cluster.dc,
        cluster: cluster.name,
        hosts,
        limit: cap.limit,
        since: new Date(started).toISOString(),
      };
      const grant = await slots.acquire(
        { scope, holder },
        (wait) => {
          waited = true;
          ctx.emit({
            event: 'slot.waiting',
            dc: cluster.dc,
            cluster: cluster.name,
            batch,
            hosts,
            scope,
            limit: wait.limit,
            held: wait.held,
            queuedAhead: wait.queuedAhead,
            holders: wait.holders.map((h) => ({
              runId: h.holder?.runId ?? h.key,
              user: h.holder?.user ?? '?',
              machine: h.holder?.machine ?? '?',
              hosts: h.holder?.hosts ?? [],
            })),
          });
        },
        ctx.options.stop,
      );
      held.push(grant);
      for (const run of scoped) grants.set(run, grant);
      if (waited)
        ctx.emit({
          event: 'slot.acquired',
          dc: cluster.dc,
          cluster: cluster.name,
          batch,
          hosts,
          scope,
          waitedMs: ctx.deps.clock.now() - started,
        });
    }
  } catch (error) {
    await Promise.all(held.map((g) => g.releaseAll().catch(() => undefined)));
    throw error;
  }
  return {
    release: async (run) =>
      grants
        .get(run)
        ?.release(run.name)
        .catch((error: unknown) => warnRelease(ctx, run.name, error)),
    releaseAll: async () =>
      void (await Promise.all(
        held.map((g) => g.releaseAll().catch((error: unknown) => warnRelease(ctx, g.key, error))),
      )),
  };
}

function warnRelease(ctx: StepContext, what: string, error: unknown): void {
  ctx.emit({
    event: 'run.warning',
    message: `${what}: could not give back its restart slot (${error instanceof Error ? error.message : String(error)}); it goes with the run's lease`,
  });
}
