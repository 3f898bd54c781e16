import { describe, expect, it } from 'vitest';
import { parseRunLog } from '../../../src/report/run-log.js';
import { isRolloutError } from '../../../src/errors.js';
import { failedRun } from './events.js';

function refusal(lines: readonly unknown[]): string {
  try {
    parseRunLog(lines.map((l) => JSON.stringify(l)).join('\n'), 'run.log');
  } catch (error) {
    if (isRolloutError(error, 'E_USAGE')) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('a malformed record in a run log', () => {
  it('is refused naming the file and the line, for clusters: null', () => {
    const [started, ...rest] = failedRun;
    expect(refusal([{ ...started, clusters: null }, ...rest])).toMatch(
      /^run\.log:1: not a rollout run log: event run\.started: "clusters" should be a list of \{dc, cluster, hosts, batches\}, got null/,
    );
  });

  it('is refused for a number that is not one, or a missing field', () => {
    const finished = failedRun.length;
    const lines = failedRun.map((e) => (e.event === 'run.finished' ? { ...e, exitCode: '<b>1</b>' } : e));
    expect(refusal(lines)).toContain(`run.log:${finished}: not a rollout run log: event run.finished: "exitCode"`);
    const noHost = failedRun.map((e) => (e.event === 'host.depooled' ? { ...e, host: undefined } : e));
    expect(refusal(noHost)).toContain('"host" should be string, got nothing');
  });

  it('accepts a well-formed run', () => {
    expect(refusal(failedRun)).toBe('accepted');
  });
});
