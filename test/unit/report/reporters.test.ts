import { describe, expect, it } from 'vitest';
import type { RolloutEvent } from '../../../src/report/events.js';
import { createLinesReporter } from '../../../src/report/lines.js';
import { createNdjsonReporter } from '../../../src/report/ndjson.js';
import { stringStream } from '../../../src/report/stream.js';
import { createTtyReporter } from '../../../src/report/tty.js';
import { T0, failedRun } from './events.js';

/** A clock that follows the events' own times, so output does not depend on the machine. */
function replay(
  reporter: { emit(e: RolloutEvent): void },
  clock: { ms: number },
  events: readonly RolloutEvent[],
): void {
  for (const e of events) {
    clock.ms = Date.parse(e.time);
    reporter.emit(e);
  }
}

describe('createNdjsonReporter', () => {
  it('writes one JSON object per event per line and a run.summary line at close', async () => {
    const stream = stringStream();
    const reporter = createNdjsonReporter({ stream, now: () => T0 + 30_000 });
    for (const e of failedRun) reporter.emit(e);
    await reporter.close();
    const lines = stream
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(failedRun.length + 1);
    expect(lines.slice(0, -1)).toEqual(failedRun);
    expect(lines.at(-1)).toMatchObject({
      event: 'run.summary',
      time: '2026-11-24T10:00:30.000Z',
      runId: 'r-1',
      exitCode: 1,
      totals: { done: 3, failed: 1, skipped: 1, notStarted: 2, leftDepooled: 1 },
    });
  });
});

describe('createLinesReporter', () => {
  async function run(everyMs: number): Promise<string[]> {
    const stream = stringStream();
    const clock = { ms: T0 };
    const reporter = createLinesReporter({ stream, now: () => clock.ms, everyMs });
    replay(reporter, clock, failedRun);
    await reporter.close();
    return stream.text().split('\n');
  }

  it('prints the start, each batch, failures and warnings as they happen, with the elapsed time', async () => {
    const lines = await run(60_000);
    expect(lines[0]).toBe('[0:00] alice@deploy1 started rollout sync for release r2: 7 hosts in 2 clusters (run r-1)');
    expect(lines).toContain('[0:00] appserver@eqiad batch 1/2: mw1');
    expect(lines).toContain('[0:02] warning: no LB agent registered in eqiad: used a 3 s propagation delay');
    expect(lines).toContain('[0:10] warning: etcd answered slowly (2.1 s)');
    expect(lines).toContain(
      '[0:20] mw3 FAILED at health [E_HEALTH]: health check failed after 5 attempts over 10s (last: HTTP 503 from http://mw3/) (still depooled)',
    );
    expect(lines.filter((l) => l.includes('propagation delay') && l.startsWith('['))).toHaveLength(1);
  });

  it('prints a progress line when a cluster finishes, and none in between with a long interval', async () => {
    const lines = (await run(60_000)).filter((l) => l.includes('% (batch'));
    expect(lines).toEqual(['[0:20] appserver@eqiad 100% (batch 2/2; in-flight: 0; ok: 2; fail: 1; left: 0) 0:20']);
  });

  it('prints progress at most once per interval per cluster', async () => {
    const lines = (await run(3000)).filter((l) => /^\[[0-9:]+\] appserver@eqiad .*% \(batch/.test(l));
    expect(lines).toEqual([
      '[0:06] appserver@eqiad  33% (batch 1/2; in-flight: 0; ok: 1; fail: 0; left: 2) 0:06',
      '[0:14] appserver@eqiad  66% (batch 2/2; in-flight: 1; ok: 2; fail: 0; left: 0) 0:14',
      '[0:20] appserver@eqiad 100% (batch 2/2; in-flight: 0; ok: 2; fail: 1; left: 0) 0:20',
    ]);
  });

  it('ends with the summary table', async () => {
    const text = (await run(60_000)).join('\n');
    expect(text).toContain('rollout sync (release r2), run r-1: 7 hosts: 1 FAILED, 3 done');
    expect(text).toContain('mw3   eqiad  appserver      FAILED   health  0:12');
  });
});

describe('createTtyReporter', () => {
  it('rewrites the per-cluster block in place and prints notable events above it', async () => {
    const stream = stringStream();
    const clock = { ms: T0 };
    const reporter = createTtyReporter({ stream, now: () => clock.ms, intervalMs: 0 });
    replay(reporter, clock, failedRun.slice(0, 2));
    // First draw: start line, then the two cluster lines; the next draw moves up over those two lines.
    expect(stream.text()).toBe(
      [
        'alice@deploy1 started rollout sync for release r2: 7 hosts in 2 clusters (run r-1)\n',
        'appserver@eqiad       0% (batch 0/2; in-flight: 0; ok: 0; fail: 0; left: 3) 0:00\n',
        'api_appserver@eqiad   0% (batch 0/2; in-flight: 0; ok: 0; fail: 0; left: 4) 0:00\n',
        '\x1b[2F\x1b[J',
        'appserver@eqiad batch 1/2: mw1\n',
        'appserver@eqiad       0% (batch 1/2; in-flight: 1; ok: 0; fail: 0; left: 2) 0:00\n',
        'api_appserver@eqiad   0% (batch 0/2; in-flight: 0; ok: 0; fail: 0; left: 4) 0:00\n',
      ].join(''),
    );
  });

  it('leaves the failure line above the final block and the summary after it', async () => {
    const stream = stringStream();
    const clock = { ms: T0 };
    const reporter = createTtyReporter({ stream, now: () => clock.ms, intervalMs: 0 });
    replay(reporter, clock, failedRun);
    await reporter.close();
    const text = stream.text();
    expect(text).toContain('\x1b[2F\x1b[Jmw3 FAILED at health [E_HEALTH]');
    const finalBlock = text.slice(text.lastIndexOf('\x1b[J') + 3);
    expect(
      finalBlock.startsWith('appserver@eqiad     100% (batch 2/2; in-flight: 0; ok: 2; fail: 1; left: 0) 0:20\n'),
    ).toBe(true);
    expect(finalBlock).toContain('\nrollout sync (release r2), run r-1: 7 hosts: 1 FAILED');
  });

  it('cuts live lines to the terminal width so that moving up stays exact', () => {
    const stream = stringStream(30);
    const reporter = createTtyReporter({ stream, now: () => T0, intervalMs: 0 });
    reporter.emit(failedRun[1] as RolloutEvent);
    const lines = stream
      .text()
      .split('\n')
      .filter((l) => l.includes('%'));
    expect(lines).toEqual(['appserver@eqiad   0% (batch 1']);
  });
});

describe('closing a reporter that saw no event', () => {
  it('writes nothing on a terminal or in plain lines, and only the summary line in NDJSON', async () => {
    for (const make of [createTtyReporter, createLinesReporter]) {
      const stream = stringStream();
      await make({ stream, now: () => T0 }).close();
      expect(stream.text()).toBe('');
    }
    const stream = stringStream();
    await createNdjsonReporter({ stream, now: () => T0 }).close();
    expect(JSON.parse(stream.text())).toMatchObject({ event: 'run.summary', exitCode: null, hosts: [] });
  });
});
