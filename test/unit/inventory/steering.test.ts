import { describe, expect, it } from 'vitest';
import { check, cluster, FILE, onlyError } from './helpers.js';

describe('steering settings in the inventory (run.deadline, run.pace, run.askOnFailure)', () => {
  it('reads durations as the operator wrote them, and askOnFailure', () => {
    const r = check(`run: { deadline: 45m, pace: 30s, askOnFailure: false }\n${cluster([])}`);
    expect(r.errors).toEqual([]);
    expect(r.inventory?.run).toMatchObject({
      deadline: { ms: 2_700_000, text: '45m' },
      pace: { ms: 30_000, text: '30s' },
      askOnFailure: false,
    });
  });

  it('rejects a duration without a unit, naming the file, line and key', () => {
    expect(onlyError(check(`run: { deadline: 45 }\n${cluster([])}`))).toMatch(
      new RegExp(`^${FILE}:1:\\d+: run\\.deadline: expected a duration like "45m", "90s" or "1h30m", got 45`),
    );
    expect(onlyError(check(`run: { pace: soon }\n${cluster([])}`))).toMatch(/run\.pace: expected a duration/);
  });
});
