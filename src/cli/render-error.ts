import { isRolloutError } from '../errors.js';

/** One error as the user sees it: the message, every detail, the stable code; a stack only for bugs. */
export function renderError(error: unknown): string {
  if (isRolloutError(error)) {
    const details = error.details.map((d) => `  ${d}\n`).join('');
    return `rollout: ${error.message}\n${details}(${error.code})\n`;
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `rollout: internal error (a bug in rollout; please report it with this output):\n${stack}\n`;
}
