/** Many waiters for "something changed": each `next()` resolves at the following `fire()` or on its own abort. */
export interface ChangeSignal {
  next(signal: AbortSignal): Promise<void>;
  fire(): void;
}

export function createChangeSignal(): ChangeSignal {
  const waiters = new Set<() => void>();
  return {
    next(signal) {
      if (signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          waiters.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        waiters.add(done);
        signal.addEventListener('abort', done, { once: true });
      });
    },
    fire() {
      for (const done of [...waiters]) done();
    },
  };
}
