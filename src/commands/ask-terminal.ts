import { ASKING_PREFIX } from '../coordination/live.js';
import type { RunSteering } from '../orchestrator/steering.js';
import type { FailedHostView, FailureQuestion } from '../orchestrator/types.js';
import { terminalSafe } from '../report/terminal-safe.js';

type Answer = 'retry' | 'skip' | 'abort';

/** One line read from the operator's terminal; rejects when `signal` aborts (the run was stopped meanwhile). */
export type AskLine = (question: string, signal: AbortSignal) => Promise<string>;

function parseAnswer(text: string, canRetry: boolean): Answer | undefined {
  const word = text.trim().toLowerCase();
  if (canRetry && (word === 'r' || word === 'retry')) return 'retry';
  if (word === 's' || word === 'skip') return 'skip';
  if (word === 'a' || word === 'abort') return 'abort';
  return undefined;
}

/**
 * The question on failure, on the operator's terminal: one question at a time (hosts failing
 * together queue up), the run held paused while it waits, an abort answered as `rollout abort`.
 * A run stopped while the question waits (Ctrl-C, `rollout abort`) takes it as skip.
 */
export function terminalQuestion(input: {
  readonly ask: AskLine;
  readonly steering: RunSteering;
  /** `user@machine` of the terminal. */
  readonly who: string;
  readonly stop: AbortSignal;
}): FailureQuestion {
  let queue: Promise<unknown> = Promise.resolve();
  const once = async (failed: FailedHostView): Promise<Answer> => {
    if (input.stop.aborted) return 'skip';
    const release = input.steering.hold({
      by: input.who,
      reason: `${ASKING_PREFIX} at the terminal what to do: ${failed.host} failed at ${failed.step}`,
    });
    try {
      const choices = failed.canRetry ? '[r]etry / [s]kip / [a]bort' : '[s]kip / [a]bort (this step cannot be retried)';
      const question = `\n${failed.host} (${failed.cluster}@${failed.dc}) FAILED at ${failed.step} [${failed.code}]: ${terminalSafe(failed.reason)}\nthe run is paused; ${choices}? `;
      for (;;) {
        const answer = parseAnswer(await input.ask(question, input.stop), failed.canRetry);
        if (answer === 'abort')
          input.steering.abort({
            by: input.who,
            reason: `answered abort after ${failed.host} failed at ${failed.step}`,
          });
        if (answer !== undefined) return answer;
      }
    } catch {
      return 'skip';
    } finally {
      release();
    }
  };
  return {
    ask(failed) {
      const answer = queue.then(() => once(failed));
      queue = answer.catch(() => undefined);
      return answer;
    },
  };
}
