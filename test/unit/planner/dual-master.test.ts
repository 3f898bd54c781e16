import { describe, expect, it } from 'vitest';
import type { DualMasterSettings } from '../../../src/inventory/types.js';
import { planRollout } from '../../../src/planner/plan.js';
import { fleet } from '../../support/fleet.js';
import { all, graceful, inBatches, names, planned } from './helpers.js';

const DM: DualMasterSettings = {
  dormantCommand: 'd',
  restartCommand: 'r {slot}',
  emergencyRestartCommand: 'r {slot}',
  switchCommand: 's {slot}',
  statusUrl: { A: 'a', B: 'b' },
  healthUrl: { A: 'a', B: 'b' },
  masterField: 'masterPid',
  idleTimeoutSeconds: 30,
};

describe('planRollout with dual-master hosts', () => {
  it('plans them without a depool, so a guard that leaves no host to depool blocks nothing', () => {
    const { inventory, snapshot } = fleet()
      .cluster('appserver', 4, {
        batch: 2,
        minPooled: '100%',
        settings: { restart: { strategy: 'dual-master', dualMaster: DM } },
      })
      .build();
    const [cluster] = planRollout({ inventory, selection: all, snapshot, options: graceful }).clusters;
    expect(cluster?.blocked).toBeNull();
    expect(cluster?.guard?.maxDepool).toBe(0);
    expect(cluster?.batches).toEqual(
      inBatches(
        names(1001, 4).map((n) => planned(n, 'yes', { depool: false })),
        [2, 2],
      ),
    );
  });
});
