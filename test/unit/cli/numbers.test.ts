import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import type { NUMERIC_FLAGS } from '../../../src/cli/numbers.js';
import { parseNumberFlag } from '../../../src/cli/numbers.js';

const refused = (flag: keyof typeof NUMERIC_FLAGS, raw: unknown): string => {
  try {
    parseNumberFlag(flag, raw);
  } catch (error) {
    if (isRolloutError(error, 'E_USAGE')) return error.message;
    throw error;
  }
  throw new Error(`--${flag} ${String(raw)} was accepted`);
};

describe('numeric flags', () => {
  it('reads numbers written as text, in range', () => {
    expect(parseNumberFlag('wait-lock', '2.5')).toBe(2.5);
    expect(parseNumberFlag('ssh-concurrency', '16')).toBe(16);
    expect(parseNumberFlag('grace', 20)).toBe(20);
  });

  it('refuses text that is not a number, naming the flag and the text', () => {
    expect(refused('wait-lock', 'abc')).toBe('--wait-lock: expected a number of seconds from 0 to 86400, got "abc"');
    expect(refused('capacity-wait', '')).toContain('--capacity-wait');
    expect(refused('capacity-wait', '10s')).toContain('got "10s"');
  });

  it('refuses infinities, NaN, negatives and values past the bound', () => {
    for (const raw of ['Infinity', 'NaN', '-1', '1e9', Number.NaN, Number.POSITIVE_INFINITY])
      expect(refused('wait-lock', raw)).toContain('--wait-lock');
  });

  it('refuses fractions and zero where a whole positive count is needed', () => {
    expect(refused('parallel-clusters', '1.5')).toContain('a whole number of clusters');
    expect(refused('ssh-concurrency', '0')).toContain('--ssh-concurrency');
    expect(refused('max-concurrency', '2.5')).toContain('--max-concurrency');
  });
});
