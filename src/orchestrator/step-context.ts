import type { Deps } from '../deps.js';
import type { Emit } from './emit.js';
import type { JournalWriter, RunOptions } from './types.js';

/** What every step function gets: the adapters, the event sink, the journal and the run options. */
export interface StepContext {
  readonly deps: Deps;
  readonly emit: Emit;
  readonly journal: JournalWriter;
  readonly options: RunOptions;
}
