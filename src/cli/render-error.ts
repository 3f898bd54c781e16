import { terminalSafe } from '../report/terminal-safe.js';
import { isRolloutError } from '../errors.js';

/** One error as the user sees it: the message, every detail, the stable code; a stack only for bugs. */
export function renderError(error: unknown): string {
  if (isRolloutError(error)) {
    // Why: a message may quote a remote command's output; nothing in it may drive the terminal.
    const details = error.details.map((d) => `  ${terminalSafe(d)}\n`).join('');
    return `rollout: ${terminalSafe(error.message)}\n${details}(${error.code})\n`;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `rollout: internal error (a bug in rollout; please report it with this output):\n${stack}\n`;
}
