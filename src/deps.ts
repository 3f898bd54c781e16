import type { Logger } from 'pino';
import type { HostSilences } from './alerts/types.js';
import type { CanaryProbes } from './health/canary-probes.js';
import type { OpcacheProbe } from './health/opcache.js';
import type { DrainProbe, HealthProbe } from './health/types.js';
import type { LbConfirmations } from './lb/confirm-port.js';
import type { RestartSlots } from './coordination/semaphore.js';
import type { PoolStore } from './pool/types.js';
import type { Reporter } from './report/events.js';
import type { Transport } from './transport/types.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Everything with a side effect, passed in: no module-level clients (STYLE.md). */
export interface Deps {
  readonly pool: PoolStore;
  readonly transport: Transport;
  /** What the LB agents have applied: the depool and repool confirmations. */
  readonly lb: LbConfirmations;
  readonly probe: HealthProbe;
  readonly drain: DrainProbe;
  /** Opcache use, for opcache-threshold restarts; without it such hosts are restarted, with a warning. */
  readonly opcache?: OpcacheProbe;
  readonly clock: Clock;
  /** Resolves after ms, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  readonly log: Logger;
  readonly report: Reporter;
  /** The fleet-wide restart cap (an etcd semaphore on the run's lease); absent: no cap. */
  readonly slots?: RestartSlots;
  /** What canary gates read (HAProxy stats, a local command, a URL); absent: a configured gate fails closed. */
  readonly canary?: CanaryProbes;
  /** Alertmanager silences of the hosts in flight (inventory `alerts:`); absent: no silences. */
  readonly silences?: HostSilences;
}

export const systemClock: Clock = { now: () => Date.now() };

export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
