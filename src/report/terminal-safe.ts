import type { Reporter, RolloutEvent } from './events.js';

/* eslint-disable no-control-regex -- matching control characters is the point of this file */
// ESC sequences first (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, then `ESC intermediates final`), then the
// remaining C0 controls but \n and \t, DEL, and the C1 controls (U+0080–U+009F, 8-bit CSI included).
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
const ESC_PAIR = /\x1b[ -/]*[0-~]?/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g;

/**
 * Text from remote hosts (a command's stderr, a health answer) as inert text for a terminal: no
 * sequence in it can move the cursor, clear the screen, retitle the window or hide what follows.
 */
export function terminalSafe(text: string): string {
  return text.replace(CSI, '').replace(OSC, '').replace(ESC_PAIR, '').replace(CONTROLS, '');
}

function clean<T>(value: T): T {
  if (typeof value === 'string') return terminalSafe(value) as T;
  if (Array.isArray(value)) return value.map(clean) as T;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v)])) as T;
  return value;
}

/** A reporter for a terminal or a log read by one: every string of every event is made terminal-safe first. */
export function terminalSafeReporter(inner: Reporter): Reporter {
  return {
    emit: (event: RolloutEvent) => inner.emit(clean(event)),
    close: () => inner.close(),
  };
}
