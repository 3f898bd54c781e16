import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { parseRunLog } from '../../../src/report/run-log.js';
import { buildTimeline } from '../../../src/report/timeline.js';
import { failedRun } from './events.js';

const lines = (events: readonly object[]): string => events.map((e) => JSON.stringify(e)).join('\n');

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isRolloutError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('no error');
}

describe('reading a run log', () => {
  it('reads pino lines and skips pino lines that are not events', () => {
    const text = `${lines([{ level: 30, time: failedRun[0]!.time, msg: 'connected' }, ...failedRun.map((e) => ({ level: 30, ...e, msg: 'x' }))])}\n`;
    expect(parseRunLog(text, 'run.log').map((e) => e.event)).toEqual(failedRun.map((e) => e.event));
  });

  it('reads a log cut by a crash: a partial last line is dropped, the hosts show as far as they got', () => {
    const cut = failedRun.slice(0, 12);
    const events = parseRunLog(`${lines(cut)}\n{"event":"host.dep`, 'run.log');
    expect(events).toHaveLength(12);
    const t = buildTimeline(events);
    expect(t.summary.exitCode).toBeNull();
    expect(t.clusters.flatMap((c) => c.lanes).length).toBeGreaterThan(0);
  });

  it('gives the last run of a reused log, and ignores events it does not know', () => {
    const second = failedRun.map((e) => ({ ...e, runId: 'r-2' }));
    const events = parseRunLog(
      lines([...failedRun, { event: 'host.teleported', time: failedRun[0]!.time, runId: 'r-2' }, ...second]),
      'run.log',
    );
    expect(new Set(events.map((e) => e.runId))).toEqual(new Set(['r-2']));
    expect(events).toHaveLength(failedRun.length);
  });

  it('names the line of a line that is not a rollout event, and a file without a run', () => {
    expect(
      errorOf(() => parseRunLog(`${lines(failedRun.slice(0, 2))}\nhello\n${lines(failedRun.slice(2))}`, 'run.log')),
    ).toEqual({
      code: 'E_USAGE',
      message: expect.stringContaining('run.log:3: not a rollout run log: not a JSON line: hello'),
    });
    expect(errorOf(() => parseRunLog('{"event":"host.done"}', 'x.log')).message).toContain(
      'x.log:1: not a rollout run log: event host.done without an ISO "time" and a "runId"',
    );
    expect(errorOf(() => parseRunLog('', 'empty.log')).message).toContain(
      'empty.log: not a rollout run log: no run.started event',
    );
  });
});
