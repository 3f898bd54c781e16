import { describe, expect, it } from 'vitest';
import { amount, fleet } from '../../support/fleet.js';
import { planRollout } from '../../../src/planner/plan.js';
import type { ClusterPlan } from '../../../src/planner/types.js';
import { all, emergency, graceful, inBatches, names, planned } from './helpers.js';

function planOne(f: ReturnType<typeof fleet>, options = graceful): ClusterPlan {
  const { inventory, snapshot } = f.build();
  const plan = planRollout({ inventory, selection: all, snapshot, options });
  expect(plan.clusters).toHaveLength(1);
  return plan.clusters[0] as ClusterPlan;
}

const yesHosts = (count: number): ReturnType<typeof planned>[] => names(1001, count).map((n) => planned(n, 'yes'));

describe('planRollout', () => {
  it('rounds a percentage batch size up', () => {
    const { inventory, snapshot } = fleet().cluster('appserver', 25, { batch: '10%', minPooled: '50%' }).build();
    const plan = planRollout({ inventory, selection: all, snapshot, options: graceful });
    expect(plan).toEqual({
      emergency: false,
      clusters: [
        {
          dc: 'eqiad',
          cluster: 'appserver',
          service: 'php-fpm',
          counts: { total: 25, yes: 25, no: 0, inactive: 0, missing: 0, malformed: 0 },
          toRestart: 25,
          batchSize: [amount('10%')],
          batchText: '10% of 25 hosts → 3 per batch, rounded up',
          guard: {
            minPooled: amount('50%'),
            considered: 25,
            required: 13,
            pooled: 25,
            maxDepool: 12,
            text: 'min 50% of 25 → 13 must stay pooled; 25 pooled → at most 12 depooled at once',
          },
          batches: inBatches(yesHosts(25), [3, 3, 3, 3, 3, 3, 3, 3, 1]),
          skipped: [],
          blocked: null,
          mode: 'window',
          window: { widths: [3], text: 'window 3 (10% of 25 hosts)' },
        },
      ],
    });
  });

  it('uses a count batch size as is and caps it at the hosts to restart', () => {
    const seven = planOne(fleet().cluster('appserver', 7, { batch: 3, minPooled: 1 }));
    expect(seven.batchText).toBe('3 of 7 hosts → 3 per batch');
    expect(seven.batches).toEqual(inBatches(yesHosts(7), [3, 3, 1]));
    const two = planOne(fleet().cluster('appserver', 2, { batch: 5, minPooled: 0 }));
    expect(two.batchText).toBe('5 of 2 hosts → 2 per batch, capped at 2');
    expect(two.batches).toEqual(inBatches(yesHosts(2), [2]));
  });

  it('sizes batch i by ramp entry i and repeats the last entry', () => {
    const c = planOne(fleet().cluster('appserver', 20, { batch: [1, '10%', '25%'], minPooled: '50%' }));
    expect(c.batchText).toBe('ramp 1, 10%, 25% of 20 hosts → 1, 2, 5, 5…');
    expect(c.batches).toEqual(inBatches(yesHosts(20), [1, 2, 5, 5, 5, 2]));
  });

  it('gives every batch at least one host, however small the percentage', () => {
    const c = planOne(fleet().cluster('appserver', 5, { batch: '1%', minPooled: 0 }));
    expect(c.batchText).toBe('1% of 5 hosts → 1 per batch, rounded up');
    expect(c.batches).toEqual(inBatches(yesHosts(5), [1, 1, 1, 1, 1]));
  });

  it('keeps the natural order of the inventory', () => {
    const c = planOne(
      fleet().cluster('appserver', 4, { names: ['mw2', 'mw10', 'mw11', 'mw100'], batch: 2, minPooled: 0 }),
    );
    expect(c.batches).toEqual([
      { hosts: [planned('mw2', 'yes'), planned('mw10', 'yes')] },
      { hosts: [planned('mw11', 'yes'), planned('mw100', 'yes')] },
    ]);
  });

  it('skips inactive, missing and malformed hosts with a reason and leaves them out of the guard', () => {
    const c = planOne(
      fleet().cluster('appserver', 6, {
        states: ['yes', 'inactive', 'missing', 'yes', 'malformed', 'yes'],
        batch: 1,
        minPooled: '50%',
      }),
    );
    expect(c).toEqual({
      dc: 'eqiad',
      cluster: 'appserver',
      service: 'php-fpm',
      counts: { total: 6, yes: 3, no: 0, inactive: 1, missing: 1, malformed: 1 },
      toRestart: 3,
      batchSize: [amount(1)],
      batchText: '1 of 3 hosts → 1 per batch',
      guard: {
        minPooled: amount('50%'),
        considered: 3,
        required: 2,
        pooled: 3,
        maxDepool: 1,
        text: 'min 50% of 3 → 2 must stay pooled; 3 pooled → at most 1 depooled at once',
      },
      batches: [
        { hosts: [planned('mw1001', 'yes')] },
        { hosts: [planned('mw1004', 'yes')] },
        { hosts: [planned('mw1006', 'yes')] },
      ],
      skipped: [
        { host: 'mw1002', reason: 'inactive' },
        { host: 'mw1003', reason: 'missing: no pool key in etcd (create it with `rollout pool mw1003`)' },
        { host: 'mw1005', reason: 'malformed: pooled: expected "yes", "no" or "inactive", got "maybe"' },
      ],
      blocked: null,
      mode: 'window',
      window: { widths: [1], text: 'window 1 (1 of 3 hosts)' },
    });
  });

  it('treats a host absent from the snapshot as missing', () => {
    const { inventory } = fleet().cluster('appserver', 2, { minPooled: 0 }).build();
    const plan = planRollout({ inventory, selection: all, snapshot: new Map(), options: graceful });
    expect(plan.clusters[0]?.skipped.map((s) => s.host)).toEqual(['mw1001', 'mw1002']);
    expect(plan.clusters[0]?.counts.missing).toBe(2);
    expect(plan.clusters[0]?.batches).toEqual([]);
  });

  it('restarts hosts depooled by others but never depools them', () => {
    const c = planOne(
      fleet().cluster('appserver', 4, { states: ['yes', 'no', 'yes', 'no'], batch: 2, minPooled: '25%' }),
    );
    expect(c.guard?.maxDepool).toBe(1);
    expect(c.batches).toEqual([
      { hosts: [planned('mw1001', 'yes'), planned('mw1002', 'no', { depool: false })] },
      { hosts: [planned('mw1003', 'yes'), planned('mw1004', 'no', { depool: false })] },
    ]);
  });

  it('never puts more yes hosts in a batch than the capacity guard allows', () => {
    const c = planOne(fleet().cluster('appserver', 10, { batch: '50%', minPooled: '80%' }));
    expect(c.guard?.text).toBe('min 80% of 10 → 8 must stay pooled; 10 pooled → at most 2 depooled at once');
    expect(c.batchText).toBe('50% of 10 hosts → 5 per batch, rounded up');
    expect(c.batches).toEqual(inBatches(yesHosts(10), [2, 2, 2, 2, 2]));
  });

  it('fills a guard-shrunk batch with no hosts up to the batch size', () => {
    // T = 6, 2 must stay pooled, 3 pooled → one yes host per batch; no hosts ride along.
    const c = planOne(
      fleet().cluster('appserver', 6, { states: ['yes', 'no', 'yes', 'no', 'no', 'yes'], batch: 3, minPooled: 2 }),
    );
    expect(c.guard?.maxDepool).toBe(1);
    expect(c.batches.map((b) => b.hosts.map((h) => h.host))).toEqual([
      ['mw1001', 'mw1002'],
      ['mw1003', 'mw1004', 'mw1005'],
      ['mw1006'],
    ]);
  });

  it('blocks a cluster whose guard leaves no yes host to depool, with the numbers', () => {
    const c = planOne(fleet().cluster('appserver', 10, { pooled: 5, depooled: 5, batch: 2, minPooled: '50%' }));
    expect(c.batches).toEqual([]);
    expect(c.blocked).toEqual({
      reason:
        'capacity guard: 5 of 10 hosts of appserver@eqiad must stay pooled (min 50%) and 5 are pooled, ' +
        "so no host can be depooled; repool hosts depooled by hand or lower the cluster's minPooled",
      pooled: 5,
      required: 5,
    });
    expect(c.guard).toMatchObject({ considered: 10, required: 5, pooled: 5, maxDepool: 0 });
  });

  it('does not block a cluster whose hosts are all depooled by others: nothing needs depooling', () => {
    const c = planOne(fleet().cluster('appserver', 3, { depooled: 3, batch: 2, minPooled: '50%' }));
    expect(c.blocked).toBeNull();
    expect(c.batches.map((b) => b.hosts.length)).toEqual([2, 1]);
  });

  it('plans emergencies in the same batches, with no guard and no depool', () => {
    const f = fleet().cluster('appserver', 20, {
      states: [...Array<'yes'>(18).fill('yes'), 'no', 'no'],
      batch: [1, '10%', '25%'],
      minPooled: '50%',
    });
    const calm = planOne(f);
    const hurry = planOne(f, emergency);
    const hostsOf = (c: ClusterPlan): string[][] => c.batches.map((b) => b.hosts.map((h) => h.host));
    expect(hostsOf(hurry)).toEqual(hostsOf(calm));
    expect(hurry.guard).toBeNull();
    expect(hurry.blocked).toBeNull();
    expect(hurry.batches.flatMap((b) => b.hosts).every((h) => !h.depool)).toBe(true);
    expect(hurry.batchText).toBe(calm.batchText);
  });

  it('never blocks an emergency plan, even where the graceful plan is blocked', () => {
    const f = fleet().cluster('appserver', 4, { pooled: 2, depooled: 2, batch: 2, minPooled: '50%' });
    expect(planOne(f).blocked).not.toBeNull();
    const hurry = planOne(f, emergency);
    expect(hurry.blocked).toBeNull();
    expect(hurry.batches).toEqual([
      { hosts: [planned('mw1001', 'yes', { depool: false }), planned('mw1002', 'yes', { depool: false })] },
      { hosts: [planned('mw1003', 'no', { depool: false }), planned('mw1004', 'no', { depool: false })] },
    ]);
  });

  it('lets --batch-size replace the batch size of every selected cluster', () => {
    const { inventory, snapshot } = fleet()
      .cluster('appserver', 6, { batch: '50%', minPooled: 0 })
      .cluster('api_appserver', 4, { batch: 1, minPooled: 0 })
      .build();
    const plan = planRollout({
      inventory,
      selection: all,
      snapshot,
      options: { emergency: false, batchSize: [amount(2)] },
    });
    expect(plan.clusters.map((c) => [c.cluster, c.batchSize, c.batches.map((b) => b.hosts.length)])).toEqual([
      ['appserver', [amount(2)], [2, 2, 2]],
      ['api_appserver', [amount(2)], [2, 2]],
    ]);
  });

  it('refuses an empty --batch-size', () => {
    const { inventory, snapshot } = fleet().cluster('appserver', 2).build();
    expect(() =>
      planRollout({ inventory, selection: all, snapshot, options: { emergency: false, batchSize: [] } }),
    ).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});
