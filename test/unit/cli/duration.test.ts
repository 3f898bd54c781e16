import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/duration.js';
import { durationOption } from '../../../src/cli/numbers.js';

describe('durations', () => {
  it('reads what operators type, units chained largest first', () => {
    expect(parseDuration('45m')).toBe(2_700_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1d')).toBe(86_400_000);
  });

  it('refuses a bare number, a negative, zero or words', () => {
    for (const bad of ['45', '-5m', '0s', 'soon', '', 'm5']) expect(parseDuration(bad)).toBeUndefined();
  });

  it('a bad --deadline or --pace is a usage error naming the flag', () => {
    expect(() => durationOption('deadline', '').coerce('45 minutes')).toThrow(
      /--deadline: expected a duration like "45m", "90s" or "1h30m", got "45 minutes"/,
    );
    expect(durationOption('pace', '').coerce('30s')).toEqual({ ms: 30_000, text: '30s' });
  });
});
