import type { PybalClient, PybalPoolAnswer } from './pybal-client.js';

/** The error of an answer cut short by the waiter's own signal: not PyBal's answer. */
export const STOPPED_WAITING = 'stopped waiting';

/** The shortest time between two looks at one PyBal pool: PyBal follows etcd within ~100 ms. */
export const PYBAL_TICK_MS = 100;

/**
 * What the waiting hosts share: at each tick, ONE request per PyBal and pool that someone waits
 * on, whose answer goes to every host waiting on it (a batch of 50 hosts is 1 request, not 50).
 */
export interface PybalPoller {
  /** The answer of the next look at `pool` on the PyBal at `base`; resolves early (an error answer) when `signal` aborts. */
  next(base: string, pool: string, signal: AbortSignal): Promise<PybalPoolAnswer>;
  close(): Promise<void>;
}

interface Target {
  readonly base: string;
  readonly pool: string;
  readonly waiters: Set<(answer: PybalPoolAnswer) => void>;
  inFlight: boolean;
}

export interface PybalPollerOptions {
  readonly client: PybalClient;
  readonly tickMs?: number;
  /** Bounds one request; a PyBal slower than this is not answering. */
  readonly requestTimeoutMs?: number;
}

export function createPybalPoller(options: PybalPollerOptions): PybalPoller {
  const tickMs = options.tickMs ?? PYBAL_TICK_MS;
  const timeoutMs = options.requestTimeoutMs ?? 2000;
  const targets = new Map<string, Target>();
  let timer: NodeJS.Timeout | undefined;
  let lastTick = 0;

  function schedule(): void {
    if (timer !== undefined) return;
    const due = Math.max(0, lastTick + tickMs - Date.now());
    timer = setTimeout(tick, due);
  }

  function tick(): void {
    timer = undefined;
    lastTick = Date.now();
    for (const target of targets.values()) {
      // Why: a slow PyBal gets one request at a time; its waiters take the answer of the one in flight's successor.
      if (target.inFlight || target.waiters.size === 0) continue;
      const waiters = [...target.waiters];
      target.waiters.clear();
      target.inFlight = true;
      void options.client.pool(target.base, target.pool, timeoutMs).then((answer) => {
        target.inFlight = false;
        for (const resolve of waiters) resolve(answer);
        if ([...targets.values()].some((t) => t.waiters.size > 0)) schedule();
      });
    }
    if ([...targets.values()].some((t) => t.waiters.size > 0 && !t.inFlight)) schedule();
  }

  return {
    next(base, pool, signal) {
      const id = `${base} ${pool}`;
      let target = targets.get(id);
      if (target === undefined) {
        target = { base, pool, waiters: new Set(), inFlight: false };
        targets.set(id, target);
      }
      const owner = target;
      return new Promise((resolve) => {
        const done = (answer: PybalPoolAnswer): void => {
          owner.waiters.delete(done);
          signal.removeEventListener('abort', aborted);
          resolve(answer);
        };
        const aborted = (): void => done({ ok: false, error: STOPPED_WAITING });
        if (signal.aborted) return aborted();
        owner.waiters.add(done);
        signal.addEventListener('abort', aborted, { once: true });
        schedule();
      });
    },
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (const target of targets.values())
        for (const done of [...target.waiters]) done({ ok: false, error: 'rollout is closing' });
      targets.clear();
      options.client.close();
    },
  };
}
