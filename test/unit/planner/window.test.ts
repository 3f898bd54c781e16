import { describe, expect, it } from 'vitest';
import { amount } from '../../support/fleet.js';
import { planWindow, stageStarts, windowWidth } from '../../../src/planner/window.js';
import { planRollout } from '../../../src/planner/plan.js';
import { fleet } from '../../support/fleet.js';

const all = { kind: 'sync', dcs: [], clusters: [] } as const;

describe('the window of a ramp', () => {
  it('is the batch size, for a single size', () => {
    const w = planWindow([amount('10%')], 100);
    expect(w.widths).toEqual([10]);
    expect([0, 5, 50, 99].map((done) => windowWidth(w, done))).toEqual([10, 10, 10, 10]);
    expect(w.text).toBe('window 10 (10% of 100 hosts)');
  });

  it('grows along a ramp once as many hosts completed as the earlier barrier batches held', () => {
    const w = planWindow([amount(1), amount('10%'), amount('25%')], 100);
    expect(w.widths).toEqual([1, 10, 25]);
    expect(stageStarts(w)).toEqual([1, 11]);
    expect([0, 1, 10, 11, 60].map((done) => windowWidth(w, done))).toEqual([1, 10, 10, 25, 25]);
    expect(w.text).toBe('ramp 1, 10%, 25% of 100 hosts → window 1, 10 after 1 done, 25 after 11 done');
  });

  it('never exceeds the cap (the guard, the fleet-wide cap), and is at least 1', () => {
    expect(planWindow([amount('50%')], 100, 7).widths).toEqual([7]);
    expect(planWindow([amount('1%')], 10).widths).toEqual([1]);
  });
});

describe('planRollout and batch.mode', () => {
  it('plans a window by default, capped by what the guard lets out at once, and barrier when told', () => {
    const { inventory, snapshot } = fleet().cluster('appserver', 20, { batch: '50%', minPooled: '80%' }).build();
    const plan = (batchMode?: 'window' | 'barrier') =>
      planRollout({
        inventory,
        selection: all,
        snapshot,
        options: { emergency: false, batchSize: undefined, batchMode },
      }).clusters[0];
    expect(plan()?.mode).toBe('window');
    expect(plan()?.window?.widths).toEqual([4]);
    expect(plan('barrier')?.mode).toBe('barrier');
    expect(plan('barrier')?.window).toBeUndefined();
    // The same hosts in the same order either way.
    expect(plan()?.batches).toEqual(plan('barrier')?.batches);
  });
});
