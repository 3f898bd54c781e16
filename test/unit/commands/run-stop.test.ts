import { describe, expect, it } from 'vitest';
import { runStopSignal } from '../../../src/commands/run-stop.js';

/** The warnings the process emits while `work` runs (they are emitted on a later tick). */
async function warningsDuring(work: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error): void => void seen.push(warning.name);
  process.on('warning', listener);
  try {
    work();
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe("the run's stop signal", () => {
  it('takes a listener per host in flight (100) without a "possible memory leak" warning', async () => {
    const stop = runStopSignal([new AbortController().signal]);
    const warnings = await warningsDuring(() => {
      for (let i = 0; i < 100; i += 1) stop.addEventListener('abort', () => undefined);
    });
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('aborts when any of its signals does, with that reason', () => {
    const lockLost = new AbortController();
    const stop = runStopSignal([new AbortController().signal, lockLost.signal]);
    expect(stop.aborted).toBe(false);
    lockLost.abort('lock lost');
    expect(stop.aborted).toBe(true);
    expect(stop.reason).toBe('lock lost');
  });
});
