import { setMaxListeners } from 'node:events';

/**
 * The run's stop: aborted by whichever of `signals` aborts first (Ctrl-C, a lost lock, preemption,
 * `rollout abort`). Every host in flight waits on it at once (a sleep, an LB confirmation), so it
 * takes any number of listeners: Node's default of 10 printed a "possible memory leak" warning to
 * the operator's terminal in every run with more than 10 hosts in flight.
 */
export function runStopSignal(signals: readonly AbortSignal[]): AbortSignal {
  const stop = AbortSignal.any([...signals]);
  setMaxListeners(0, stop);
  return stop;
}
