import type { Deps } from '../../../src/deps.js';
import type { HealthProbe, ProbeResult } from '../../../src/health/types.js';
import type { BatchMode, Inventory, InventoryHost } from '../../../src/inventory/types.js';
import type { LbConfirmations } from '../../../src/lb/confirm-port.js';
import { createWatchedLbConfirmations } from '../../../src/lb/confirm-watch.js';
import { agentKey, appliedKey } from '../../../src/lb/keys.js';
import { runRollout, type RunResult } from '../../../src/orchestrator/run.js';
import type { JournalHostRecord, RunInput, RunOptions } from '../../../src/orchestrator/types.js';
import { planRollout, poolKeysFor } from '../../../src/planner/plan.js';
import type { Kv } from '../../../src/kv/kv.js';
import { createMemoryKv, type MemoryKv } from '../../../src/kv/memory-kv.js';
import { createPoolStore, poolKeyPath } from '../../../src/pool/store.js';
import type { PoolKey, PoolSnapshot, PoolStore } from '../../../src/pool/types.js';
import type { RolloutEvent } from '../../../src/report/events.js';
import type { ExecResult, SshTarget, Transport } from '../../../src/transport/types.js';
import { pino } from 'pino';

/** Where the harness's journal writes its records, in the order they commit. */
const JOURNAL_PREFIX = '/test-journal/';

export const PREFIX = '/conftool/v1/pools';

export type ExecScript = (
  host: string,
  command: string,
) => Partial<ExecResult> | Error | undefined | Promise<Partial<ExecResult> | Error | undefined>;

/** A whole orchestrator wired to memory adapters, a fake clock and a sleep that only advances it. */
export interface Harness<K extends Kv = MemoryKv> {
  readonly kv: K;
  readonly pool: PoolStore;
  readonly events: RolloutEvent[];
  readonly journal: JournalHostRecord[];
  readonly execs: { host: string; command: string }[];
  /** Hosts the orchestrator released (done with their connection), in order. */
  readonly released: string[];
  readonly inventory: Inventory;
  now: number;
  exec: ExecScript;
  health: (host: InventoryHost) => ProbeResult | undefined;
  active: (host: InventoryHost) => number;
  /** Opcache use in percent, or the error reading it throws. */
  opcache: (host: InventoryHost) => number | Error;
  value(host: string): Promise<Record<string, unknown> | null>;
  keyOf(host: string): PoolKey;
  /** `lb`: another LB confirmation adapter than the watch over the memory Kv (which the agents above write). */
  run(
    options?: Partial<RunOptions> & {
      batchSize?: number;
      batchMode?: BatchMode;
      lb?: LbConfirmations;
      adopted?: RunInput['adopted'];
    },
  ): Promise<RunResult>;
  /**
   * Registers an LB agent that confirms every pool write it sees (or never, with `confirm: false`;
   * or only the values a predicate accepts, e.g. depools but not repools).
   */
  agent(dc: string, id: string, confirm: boolean | ((value: { pooled?: string }) => boolean)): void;
  names(event: RolloutEvent['event']): string[];
  /** Adapters added to the run's Deps (restart slots, canary probes). */
  extraDeps: Partial<Pick<Deps, 'slots' | 'canary' | 'silences'>>;
}

/** The memory Kv by default; an integration test may pass a real etcd Kv (or a wrapper over one). */
export async function harness<K extends Kv = MemoryKv>(
  built: { inventory: Inventory; snapshot: PoolSnapshot },
  given?: K,
  /** Another pool store on `given` (etcd v2): the snapshot's present keys are then created through it. */
  store?: (kv: K) => PoolStore,
): Promise<Harness<K>> {
  // Why: the default K is MemoryKv, so without `given` the memory store is exactly what the type says.
  const kv = given ?? (createMemoryKv() as unknown as K);
  const pool = store?.(kv) ?? createPoolStore(kv, PREFIX);
  for (const entry of built.snapshot.values()) {
    if (store !== undefined && entry.state === 'present')
      await pool.write({ key: entry.key, state: 'missing' }, entry.value);
    else if (entry.state === 'present') await kv.put(poolKeyPath(PREFIX, entry.key), JSON.stringify(entry.value));
    else if (entry.state === 'malformed') await kv.put(poolKeyPath(PREFIX, entry.key), entry.raw);
  }
  const hosts = new Map(
    built.inventory.datacenters.flatMap((d) => d.clusters.flatMap((c) => c.hosts.map((h) => [h.name, h] as const))),
  );
  const confirmers: (() => Promise<void>)[] = [];
  void kv.watch(JOURNAL_PREFIX, 0, {
    onEvent: (e) => void (e.type === 'put' && h.journal.push(JSON.parse(e.entry.value) as JournalHostRecord)),
    onResync: () => undefined,
  });
  const h: Harness<K> = {
    kv,
    pool,
    events: [],
    journal: [],
    execs: [],
    released: [],
    inventory: built.inventory,
    now: 1_700_000_000_000,
    exec: () => undefined,
    extraDeps: {},
    health: () => undefined,
    active: () => 0,
    opcache: () => new Error('no opcache figures in this test'),
    async value(host) {
      const entry = await kv.get(poolKeyPath(PREFIX, h.keyOf(host)));
      return entry ? (JSON.parse(entry.value) as Record<string, unknown>) : null;
    },
    keyOf(host) {
      const ih = hosts.get(host);
      if (!ih) throw new Error(`no host ${host}`);
      return { dc: ih.dc, cluster: ih.cluster, service: ih.settings.service, host };
    },
    agent(dc, id, confirm) {
      void kv.put(agentKey(dc, id), JSON.stringify({ agentId: id }));
      if (!confirm) return;
      // Why: a real agent follows a watch; polling from sleep() keeps the fake clock in charge.
      confirmers.push(async () => {
        for (const entry of await kv.list(`${PREFIX}/${dc}/`)) {
          const [cluster, service, host] = entry.key.slice(PREFIX.length + dc.length + 2).split('/');
          if (!cluster || !service || !host) continue;
          if (typeof confirm === 'function' && !confirm(JSON.parse(entry.value) as { pooled?: string })) continue;
          const key = appliedKey(id, { dc, cluster, service, host });
          const applied = await kv.get(key);
          const revision = applied ? (JSON.parse(applied.value) as { revision: number }).revision : 0;
          if (revision < entry.modRevision)
            await kv.put(key, JSON.stringify({ revision: entry.modRevision, pooled: 'x', weight: 0, appliedAt: '' }));
        }
      });
    },
    names(event) {
      return h.events.filter((e) => e.event === event).map((e) => ('host' in e ? e.host : e.event));
    },
    async run({ lb, batchMode, adopted, ...options } = {}) {
      const transport: Transport = {
        async exec(target: SshTarget, command: string) {
          // Why: the pre-depool reachability check (`true`) is not a restart; tests assert restarts.
          if (command !== 'true') h.execs.push({ host: target.host, command });
          const scripted = await h.exec(target.host, command);
          if (scripted instanceof Error) throw scripted;
          return { exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 5, ...scripted };
        },
        // Why: tests script the pre-depool reachability check as the command `true`, as it once was.
        async reach(target: SshTarget) {
          const scripted = await h.exec(target.host, 'true');
          if (scripted instanceof Error) throw scripted;
        },
        release(target: SshTarget) {
          h.released.push(target.host);
        },
        async close() {},
      };
      const probe: HealthProbe = { check: async (host) => h.health(host) ?? { ok: true, detail: 'HTTP 200' } };
      const deps: Deps = {
        pool,
        transport,
        probe,
        lb: lb ?? createWatchedLbConfirmations(kv),
        drain: { activeRequests: async (host) => h.active(host) },
        opcache: {
          async usedPercent(host) {
            const used = h.opcache(host);
            if (used instanceof Error) throw used;
            return used;
          },
        },
        clock: { now: () => h.now },
        async sleep(ms, signal) {
          if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
          h.now += ms;
          for (const confirm of confirmers) await confirm();
          await new Promise((resolve) => setImmediate(resolve));
          if (signal?.aborted) throw new Error(String(signal.reason));
        },
        log: pino({ level: 'silent' }),
        report: { emit: (event) => void h.events.push(event), close: async () => {} },
        ...h.extraDeps,
      };
      // Why: records land in the memory Kv, so one put in the pool write's transaction is seen only if it commits.
      let seq = 0;
      const journalPut = (entry: JournalHostRecord) => ({
        key: `${JOURNAL_PREFIX}${String(seq++).padStart(8, '0')}`,
        value: JSON.stringify(entry),
      });
      const journal = {
        record: async (entry: JournalHostRecord) => {
          const put = journalPut(entry);
          await kv.put(put.key, put.value);
        },
        recordAll: async (entries: readonly JournalHostRecord[]) => void (await kv.txn({}, entries.map(journalPut))),
        put: journalPut,
      };
      const selection = { kind: 'sync', dcs: [], clusters: [] } as const;
      const clusters = built.inventory.datacenters.flatMap((d) => d.clusters);
      const snapshot = await pool.read(poolKeysFor(clusters));
      const emergency = options.emergency ?? false;
      const batchSize =
        options.batchSize === undefined ? undefined : [{ kind: 'count', value: options.batchSize } as const];
      const plan = planRollout({
        inventory: built.inventory,
        selection,
        snapshot,
        options: { emergency, batchSize, batchMode },
      });
      try {
        return await runRollout(deps, {
          meta: { command: 'rollout sync', argv: ['sync'], user: 'test', machine: 'test', pid: 1 },
          inventory: built.inventory,
          plan,
          journal,
          ...(adopted === undefined ? {} : { adopted }),
          options: {
            runId: 'run-1',
            emergency,
            release: undefined,
            failureBudget: undefined,
            parallelClusters: 5,
            capacityWaitSeconds: 10,
            stop: new AbortController().signal,
            ...options,
          },
        });
      } finally {
        await deps.lb.close();
      }
    },
  };
  return h;
}
