import { describe, expect, it } from 'vitest';
import type { BackendCounts, ResponseCounts } from '../../../src/health/haproxy-stats.js';
import type { CanaryProbes } from '../../../src/health/canary-probes.js';
import type { CanarySettings, Inventory } from '../../../src/inventory/types.js';
import { createRestartSlots, listSlots } from '../../../src/coordination/semaphore.js';
import type { RolloutEvent } from '../../../src/report/events.js';
import { fleet } from '../../support/fleet.js';
import { harness } from './harness.js';

/** The inventory with `canary:` set on every cluster. */
function withCanary(inventory: Inventory, canary: CanarySettings): Inventory {
  return {
    ...inventory,
    datacenters: inventory.datacenters.map((d) => ({
      ...d,
      clusters: d.clusters.map((c) => ({ ...c, settings: { ...c.settings, canary } })),
    })),
  };
}

const statsGate = (extra: Partial<NonNullable<CanarySettings['gate']['haproxyStats']>> = {}): CanarySettings => ({
  batch: { kind: 'count', value: 1 },
  soakSeconds: 30,
  gate: {
    haproxyStats: {
      socket: '/run/haproxy/admin.sock',
      url: undefined,
      backend: '{dc}_{cluster}',
      maxErrorRatio: 0.05,
      maxIncrease: 0.02,
      minRequests: 10,
      ...extra,
    },
    command: undefined,
    url: undefined,
    timeoutSeconds: 5,
  },
});

/**
 * HAProxy counters that grow by `perRead` responses per server at each read, `errorShare` of them
 * 5xx on the servers named in `bad`: the 1st read is the baseline, the 2nd the soak's start, the 3rd its end.
 */
function fakeHaproxy(
  hosts: readonly string[],
  bad: readonly string[],
  errorShare: number,
  perRead = 100,
): CanaryProbes & { reads: string[] } {
  let reads = 0;
  const seen: string[] = [];
  return {
    reads: seen,
    async backendCounts(_source, backend) {
      seen.push(backend);
      reads += 1;
      const servers = new Map<string, ResponseCounts>();
      for (const h of hosts) {
        // Why: the bad release only serves from the soak's start on (the canary was restarted before read 2).
        const errorsPerRead = bad.includes(h) && reads >= 3 ? Math.round(perRead * errorShare) : 0;
        servers.set(h, { responses: perRead * reads, errors5xx: errorsPerRead });
      }
      const all = [...servers.values()];
      const backendCounts: BackendCounts = {
        backend: {
          responses: all.reduce((n, c) => n + c.responses, 0),
          errors5xx: all.reduce((n, c) => n + c.errors5xx, 0),
        },
        servers,
      };
      return backendCounts;
    },
    runLocal: async () => ({ exitCode: 0, output: '' }),
    get: async () => ({ status: 200, body: '' }),
  };
}

const ofType = <E extends RolloutEvent['event']>(events: readonly RolloutEvent[], name: E) =>
  events.filter((e): e is Extract<RolloutEvent, { event: E }> => e.event === name);

describe('canary gate', () => {
  it('stops the cluster after the canary batch when the canaries answer 20% 5xx, leaves the canary restarted and pooled, and exits 1 with the figures', async () => {
    const built = fleet().cluster('appserver', 6, { batch: 2, minPooled: '50%' }).build();
    const inventory = withCanary(built.inventory, statsGate());
    const h = await harness({ inventory, snapshot: built.snapshot });
    const names = inventory.datacenters[0]?.clusters[0]?.hosts.map((x) => x.name) ?? [];
    const haproxy = fakeHaproxy(names, [names[0] ?? ''], 0.2);
    h.extraDeps = { canary: haproxy };
    const result = await h.run();
    expect(result.exitCode).toBe(1);
    expect(result.canaryFailed).toEqual(['appserver@eqiad']);
    expect(h.execs.map((e) => e.host)).toEqual([names[0]]);
    expect(await h.value(names[0] ?? '')).toMatchObject({ pooled: 'yes' });
    const failed = ofType(h.events, 'canary.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.checks[0]?.figures).toMatchObject({
      canaryRatio: 0.2,
      canaryResponses: 100,
      canary5xx: 20,
      baselineRatio: 0,
    });
    expect(failed[0]?.checks[0]?.detail).toContain('canaries 20.00% (20/100) 5xx');
    expect(haproxy.reads).toEqual(['eqiad_appserver', 'eqiad_appserver', 'eqiad_appserver']);
    expect(result.hosts.filter((x) => x.outcome === 'not-started').map((x) => x.host)).toEqual(names.slice(1));
  });

  it('passes a healthy canary batch and restarts the rest of the cluster', async () => {
    const built = fleet().cluster('appserver', 6, { batch: 2, minPooled: '50%' }).build();
    const inventory = withCanary(built.inventory, statsGate());
    const h = await harness({ inventory, snapshot: built.snapshot });
    const names = inventory.datacenters[0]?.clusters[0]?.hosts.map((x) => x.name) ?? [];
    h.extraDeps = { canary: fakeHaproxy(names, [], 0) };
    const result = await h.run({ batchMode: 'barrier' });
    expect(result.exitCode).toBe(0);
    expect(ofType(h.events, 'canary.passed')).toHaveLength(1);
    // Batch 1 is the one canary, then the cluster's own batches of 2.
    expect(ofType(h.events, 'batch.started').map((b) => b.hosts.length)).toEqual([1, 2, 2, 1]);
    expect(new Set(h.execs.map((e) => e.host))).toEqual(new Set(names));
  });

  it('fails a canary batch that saw too little traffic to judge', async () => {
    const built = fleet().cluster('appserver', 4, { batch: 1, minPooled: '50%' }).build();
    const inventory = withCanary(built.inventory, statsGate({ minRequests: 500 }));
    const h = await harness({ inventory, snapshot: built.snapshot });
    h.extraDeps = { canary: fakeHaproxy(inventory.datacenters[0]?.clusters[0]?.hosts.map((x) => x.name) ?? [], [], 0) };
    expect((await h.run()).exitCode).toBe(1);
    expect(ofType(h.events, 'canary.failed')[0]?.checks[0]?.detail).toContain('fewer than minRequests 500');
  });

  it('with --skip-canary-gate, says so and goes on without reading any stats', async () => {
    const built = fleet().cluster('appserver', 4, { batch: 1, minPooled: '50%' }).build();
    const inventory = withCanary(built.inventory, statsGate());
    const h = await harness({ inventory, snapshot: built.snapshot });
    const names = inventory.datacenters[0]?.clusters[0]?.hosts.map((x) => x.name) ?? [];
    const haproxy = fakeHaproxy(names, names, 0.5);
    h.extraDeps = { canary: haproxy };
    const result = await h.run({ canaryGate: { skip: true } });
    expect(result.exitCode).toBe(0);
    expect(ofType(h.events, 'canary.skipped').map((e) => e.reason)).toEqual(['--skip-canary-gate']);
    expect(haproxy.reads).toEqual([]);
  });

  it('runs a command gate with the canaries filled in, and a non-zero exit stops the cluster', async () => {
    const built = fleet().cluster('appserver', 4, { batch: 1, minPooled: '50%' }).build();
    const canary: CanarySettings = {
      batch: { kind: 'count', value: 1 },
      soakSeconds: 10,
      gate: {
        haproxyStats: undefined,
        command: 'check-errors --dc {dc} --hosts {hosts} --seconds {seconds}',
        url: undefined,
        timeoutSeconds: 5,
      },
    };
    const inventory = withCanary(built.inventory, canary);
    const h = await harness({ inventory, snapshot: built.snapshot });
    const commands: string[] = [];
    h.extraDeps = {
      canary: {
        ...fakeHaproxy([], [], 0),
        runLocal: async (command) => (commands.push(command), { exitCode: 3, output: 'error rate 7%' }),
      },
    };
    expect((await h.run()).exitCode).toBe(1);
    const first = inventory.datacenters[0]?.clusters[0]?.hosts[0]?.name ?? '';
    expect(commands).toEqual([`check-errors --dc eqiad --hosts ${first} --seconds 10`]);
    expect(ofType(h.events, 'canary.failed')[0]?.checks[0]).toMatchObject({
      gate: 'command',
      ok: false,
      figures: { exitCode: 3 },
    });
  });
});

describe('canary gate before the run', () => {
  it('restarts nothing of a cluster whose HAProxy stats cannot be read before the run, and says why', async () => {
    const built = fleet().cluster('appserver', 4, { batch: 1, minPooled: '50%' }).build();
    const inventory = withCanary(built.inventory, statsGate());
    const h = await harness({ inventory, snapshot: built.snapshot });
    h.extraDeps = {
      canary: {
        ...fakeHaproxy([], [], 0),
        backendCounts: async () => Promise.reject(new Error('connect ENOENT /run/haproxy/admin.sock')),
      },
    };
    const result = await h.run();
    expect(result.exitCode).toBe(1);
    expect(h.execs).toEqual([]);
    expect(h.names('host.depooled')).toEqual([]);
    expect(ofType(h.events, 'canary.failed')[0]?.checks[0]?.detail).toMatch(
      /^could not read the HAProxy stats of \/run\/haproxy\/admin\.sock before the run: .*ENOENT.*nothing of appserver@eqiad was restarted/,
    );
  });
});

describe('fleet-wide restart slots in a run', () => {
  it('waits, depooling nothing, while another run holds every slot of the scope, and goes once they are given back', async () => {
    const built = fleet().cluster('appserver', 4, { batch: 2, minPooled: '50%' }).build();
    const h = await harness(built);
    const otherLease = await h.kv.grantLease(10);
    const watchOnly = (_ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((_r, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
      );
    const other = await createRestartSlots(h.kv, { lease: otherLease, sleep: watchOnly }).acquire(
      {
        scope: 'dc-service/eqiad/php-fpm',
        holder: {
          runId: 'other',
          user: 'bob',
          machine: 'deploy2',
          pid: 9,
          dc: 'eqiad',
          cluster: 'api',
          hosts: ['mw1101', 'mw1102'],
          limit: 2,
          since: '',
        },
      },
      () => undefined,
      new AbortController().signal,
    );
    const runLease = await h.kv.grantLease(10);
    h.extraDeps = { slots: createRestartSlots(h.kv, { lease: runLease, sleep: watchOnly }) };
    const done = h.run({
      restartSlots: { limit: 2, scope: 'datacenter-service', who: { user: 'alice', machine: 'deploy1', pid: 1 } },
    });
    const until = async (what: () => boolean): Promise<void> => {
      for (let i = 0; i < 1000 && !what(); i += 1) await new Promise((r) => setImmediate(r));
    };
    await until(() => h.events.some((e) => e.event === 'slot.waiting'));
    const waiting = ofType(h.events, 'slot.waiting')[0];
    expect(waiting).toMatchObject({
      held: 2,
      limit: 2,
      hosts: ['mw1001', 'mw1002'],
      holders: [{ runId: 'other', user: 'bob', machine: 'deploy2', hosts: ['mw1101', 'mw1102'] }],
    });
    expect(h.names('host.depooled')).toEqual([]);
    await other.releaseAll();
    const result = await done;
    expect(result.exitCode).toBe(0);
    expect(ofType(h.events, 'slot.acquired')).toHaveLength(1);
    expect(await listSlots(h.kv)).toEqual(new Map());
  });
});
