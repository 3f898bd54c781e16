import { describe, expect, it } from 'vitest';
import { amount } from '../../support/fleet.js';
import { batchSizeFor, rampSize, resolveAmount } from '../../../src/planner/amount.js';

describe('amounts', () => {
  it('rounds percentages up without float noise', () => {
    expect(resolveAmount(amount('10%'), 20)).toBe(2);
    expect(resolveAmount(amount('10%'), 21)).toBe(3);
    expect(resolveAmount(amount('70%'), 10)).toBe(7);
    expect(resolveAmount(amount('15%'), 20)).toBe(3);
    expect(resolveAmount({ kind: 'percent', value: 33.3 }, 3)).toBe(1);
  });

  it('keeps batch sizes between 1 and the hosts to restart', () => {
    expect(batchSizeFor(amount('0%'), 10)).toBe(1);
    expect(batchSizeFor(amount(50), 10)).toBe(10);
    expect(batchSizeFor(amount('10%'), 0)).toBe(0);
  });

  it('repeats the last ramp entry', () => {
    const ramp = [amount(1), amount('50%')];
    expect([0, 1, 2, 7].map((i) => rampSize(ramp, i, 10))).toEqual([1, 5, 5, 5]);
  });
});
