import type { Deps } from '../deps.js';
import { clearControl, watchControl } from '../coordination/control.js';
import type { Kv } from '../kv/kv.js';
import { createEmitter } from '../orchestrator/emit.js';
import { RunSteering } from '../orchestrator/steering.js';

interface Duration {
  readonly ms: number;
  readonly text: string;
}

/**
 * The run's steering, wired: its control key watched in etcd (pause, resume, abort from any
 * machine), a timer at the deadline, the pace. `close` stops the watch and clears the key.
 */
export async function startSteering(input: {
  readonly kv: Kv;
  readonly deps: Deps;
  readonly runId: string;
  readonly stop: AbortSignal;
  readonly onStop: (reason: string) => void;
  readonly deadline: Duration | undefined;
  readonly pace: Duration | undefined;
  readonly warn: (message: string) => void;
}): Promise<{ readonly steering: RunSteering; close(): Promise<void> }> {
  const { deps, deadline } = input;
  const atMs = deadline === undefined ? undefined : deps.clock.now() + deadline.ms;
  const steering = new RunSteering({
    clock: deps.clock,
    sleep: deps.sleep,
    emit: createEmitter(deps, input.runId),
    paceMs: input.pace?.ms,
    deadline: atMs === undefined || deadline === undefined ? undefined : { atMs, text: deadline.text },
    stop: input.stop,
    onStop: input.onStop,
  });
  const timer = atMs === undefined ? undefined : setTimeout(() => steering.expire(), atMs - deps.clock.now());
  timer?.unref();
  const stopWatching = await watchControl(
    input.kv,
    input.runId,
    (command) => {
      const by = command.machine === '' ? command.user : `${command.user}@${command.machine}`;
      if (command.action === 'pause') steering.pause({ by, reason: command.reason });
      else if (command.action === 'resume') steering.resume({ by });
      else steering.abort({ by, reason: command.reason });
    },
    input.warn,
  );
  return {
    steering,
    async close() {
      clearTimeout(timer);
      await stopWatching().catch(() => undefined);
      await clearControl(input.kv, input.runId);
    },
  };
}
