/** Sleep that ends early when woken; a wake while awake makes the next wait return at once. */
export interface Waker {
  wait(ms: number): Promise<void>;
  wake(): void;
}

export function createWaker(sleep: (ms: number, signal?: AbortSignal) => Promise<void>): Waker {
  let pending = false;
  let current: AbortController | undefined;
  return {
    async wait(ms) {
      if (pending) {
        pending = false;
        return;
      }
      const controller = new AbortController();
      current = controller;
      try {
        await sleep(ms, controller.signal);
      } catch {
        // Why: an aborted sleep is just an early wake-up.
      } finally {
        current = undefined;
        pending = false;
      }
    },
    wake() {
      if (current !== undefined) current.abort();
      else pending = true;
    },
  };
}
