import type { Deps } from '../deps.js';
import { logEvent } from '../log.js';
import type { RolloutEvent } from '../report/events.js';

/** An event as the orchestrator writes it: the emitter stamps the time and the run id. */
export type EventInput = RolloutEvent extends infer E
  ? E extends RolloutEvent
    ? Omit<E, 'time' | 'runId'>
    : never
  : never;

export type Emit = (event: EventInput) => void;

/** One place feeds the reporter and the JSON log with the same events (STYLE.md). */
export function createEmitter(deps: Pick<Deps, 'report' | 'log' | 'clock'>, runId: string): Emit {
  return (input) => {
    const event = { ...input, time: new Date(deps.clock.now()).toISOString(), runId } as RolloutEvent;
    deps.report.emit(event);
    logEvent(deps.log, event);
  };
}
