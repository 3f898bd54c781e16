import { describe, expect, it } from 'vitest';
import type { CanarySettings, Inventory } from '../../../src/inventory/types.js';
import { planRollout } from '../../../src/planner/plan.js';
import { planToJson } from '../../../src/report/plan-json.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { fleet } from '../../support/fleet.js';

const gate: CanarySettings['gate'] = { haproxyStats: undefined, command: 'true', url: undefined, timeoutSeconds: 5 };
function withCanary(inventory: Inventory, batch: CanarySettings['batch']): Inventory {
  return {
    ...inventory,
    datacenters: inventory.datacenters.map((d) => ({
      ...d,
      clusters: d.clusters.map((c) => ({ ...c, settings: { ...c.settings, canary: { batch, soakSeconds: 0, gate } } })),
    })),
  };
}
const selection = { kind: 'sync', dcs: [], clusters: [] } as const;
const sizes = (plan: ReturnType<typeof planRollout>) =>
  plan.clusters[0]?.batches.map((b) => b.hosts.map((h) => h.host));

describe('planner: canary batch and the fleet-wide cap', () => {
  it('puts the named canaries first, as batch 1 on their own, then the cluster ramp', () => {
    const built = fleet().cluster('appserver', 6, { batch: 2, minPooled: '50%' }).build();
    const plan = planRollout({
      inventory: withCanary(built.inventory, { kind: 'hosts', hosts: ['mw1004', 'mw1002'] }),
      selection,
      snapshot: built.snapshot,
      options: { emergency: false, batchSize: undefined },
    });
    expect(sizes(plan)).toEqual([
      ['mw1002', 'mw1004'],
      ['mw1001', 'mw1003'],
      ['mw1005', 'mw1006'],
    ]);
    expect(plan.clusters[0]?.canary).toEqual(['mw1002', 'mw1004']);
    expect(renderPlanText(plan)).toContain(
      '  canary:  batch 1 (mw1002, mw1004); the other hosts wait for its gate after the soak',
    );
    expect(planToJson(plan).clusters[0]?.canary).toEqual(['mw1002', 'mw1004']);
  });

  it('has no canary batch in an emergency plan', () => {
    const built = fleet().cluster('appserver', 4, { batch: 2, minPooled: '50%' }).build();
    const plan = planRollout({
      inventory: withCanary(built.inventory, { kind: 'count', value: 1 }),
      selection,
      snapshot: built.snapshot,
      options: { emergency: true, batchSize: undefined },
    });
    expect(sizes(plan)).toEqual([
      ['mw1001', 'mw1002'],
      ['mw1003', 'mw1004'],
    ]);
    expect(plan.clusters[0]?.canary).toBeUndefined();
  });

  it('splits batches wider than --max-concurrency, keeping the order', () => {
    const built = fleet().cluster('appserver', 10, { batch: 5, minPooled: '10%' }).build();
    const plan = planRollout({
      inventory: built.inventory,
      selection,
      snapshot: built.snapshot,
      options: { emergency: false, batchSize: undefined, maxBatch: 2 },
    });
    expect(plan.clusters[0]?.batches.map((b) => b.hosts.length)).toEqual([2, 2, 1, 2, 2, 1]);
  });
});
