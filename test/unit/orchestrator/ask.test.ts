import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { terminalQuestion } from '../../../src/commands/ask-terminal.js';
import { RunSteering } from '../../../src/orchestrator/steering.js';
import type { RolloutEvent } from '../../../src/report/events.js';
import { harness, type Harness } from './harness.js';

/** The terminal question over a steering, answered from a script; records each question and the run's state then. */
function scripted(h: Harness, answers: string[]) {
  const stop = new AbortController();
  const steering = new RunSteering({
    clock: { now: () => h.now },
    sleep: async () => undefined,
    emit: (event) =>
      void h.events.push({ ...event, time: new Date(h.now).toISOString(), runId: 'run-1' } as RolloutEvent),
    stop: stop.signal,
    onStop: (reason) => stop.abort(reason),
  });
  const asked: { question: string; state: string }[] = [];
  const question = terminalQuestion({
    ask: async (text) => {
      asked.push({ question: text, state: steering.state });
      return answers.shift() ?? 'skip';
    },
    steering,
    who: 'alice@deploy1',
    stop: stop.signal,
  });
  return { steering, stop: stop.signal, asked, question };
}

/** The host's health checks fail until the operator has been asked `questions` times (every attempt of a check fails). */
const failHealthUntilAsked = (h: Harness, host: string, asked: readonly unknown[], questions = 1): void => {
  h.health = (x) => (x.name === host && asked.length < questions ? { ok: false, detail: 'HTTP 503' } : undefined);
};

describe('the question on failure', () => {
  it('retry runs the failed step again (not the restart before it), and the host ends done and pooled', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2 }).build());
    const s = scripted(h, ['retry']);
    failHealthUntilAsked(h, 'mw1001', s.asked);
    const result = await h.run({ steering: s.steering, stop: s.stop, askOnFailure: s.question });
    expect(result.exitCode).toBe(0);
    expect(s.asked).toHaveLength(1);
    expect(s.asked[0]?.question).toMatch(
      /mw1001 \(appserver@eqiad\) FAILED at health \[E_HEALTH\].*\[r\]etry \/ \[s\]kip \/ \[a\]bort/s,
    );
    // While the question waited, the run was held paused; it resumed after the answer.
    expect(s.asked[0]?.state).toBe('paused');
    expect(h.events.filter((e) => e.event === 'run.paused' || e.event === 'run.resumed').map((e) => e.event)).toEqual([
      'run.paused',
      'run.resumed',
    ]);
    expect(h.execs.filter((e) => e.host === 'mw1001')).toHaveLength(1);
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
    expect(h.names('host.done')).toContain('mw1001');
    expect(h.names('host.failed')).toEqual([]);
  });

  it('asks again when the retry fails too, and an unknown answer is asked again', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    const s = scripted(h, ['maybe', 'r', 'retry']);
    failHealthUntilAsked(h, 'mw1001', s.asked, 3);
    const result = await h.run({ steering: s.steering, stop: s.stop, askOnFailure: s.question });
    expect(result.exitCode).toBe(0);
    expect(s.asked).toHaveLength(3);
  });

  it('skip leaves the host failed and depooled and the run goes on within its budget', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 1, failureBudget: 1 }).build());
    const s = scripted(h, ['skip']);
    failHealthUntilAsked(h, 'mw1001', s.asked);
    const result = await h.run({ steering: s.steering, stop: s.stop, askOnFailure: s.question });
    expect(result.exitCode).toBe(1);
    expect(h.names('host.failed')).toEqual(['mw1001']);
    expect((await h.value('mw1001'))?.['pooled']).toBe('no');
    expect(h.names('host.done')).toEqual(['mw1002', 'mw1003', 'mw1004']);
  });

  it('abort stops the run as `rollout abort` would: nothing new starts, exit 1, the answer named', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 1, failureBudget: 2 }).build());
    const s = scripted(h, ['abort']);
    failHealthUntilAsked(h, 'mw1001', s.asked);
    const result = await h.run({
      steering: s.steering,
      stop: s.stop,
      interrupt: new AbortController().signal,
      askOnFailure: s.question,
    });
    expect(result.exitCode).toBe(1);
    expect(h.execs.map((e) => e.host)).toEqual(['mw1001']);
    expect(h.events.find((e) => e.event === 'run.aborted')).toMatchObject({
      by: 'alice@deploy1',
      reason: 'answered abort after mw1001 failed at health',
    });
  });

  it('offers no retry for a step that cannot be run again', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    h.exec = (host, command) => (host === 'mw1001' && command !== 'true' ? { exitCode: 1, stderr: 'boom' } : undefined);
    const s = scripted(h, ['retry', 'skip']);
    await h.run({ steering: s.steering, stop: s.stop, askOnFailure: s.question });
    // A failed restart can be retried; it fails again, then the operator skips.
    expect(s.asked).toHaveLength(2);
    expect(s.asked[0]?.question).toContain('[r]etry');
  });
});
