import type { PoolStore } from '../pool/types.js';

/**
 * One cluster's gate in a window run: a guarded depool (read, guard, transaction) holds it alone,
 * this run's repools of the cluster share it. A depool's transaction compares the whole cluster
 * against its read, so a repool of the run's own landing in between would abort it for nothing.
 */
export interface ClusterGate {
  /** Waits for the repools under way, holds back new ones; resolves the release. */
  exclusive(): Promise<() => void>;
  /** The pool store whose writes (the repools) wait while a guarded depool holds the gate. */
  gated(pool: PoolStore): PoolStore;
}

export function createClusterGate(): ClusterGate {
  let writers = 0;
  let held: Promise<void> | undefined;
  let drained: (() => void) | undefined;
  const shared = async <T>(write: () => Promise<T>): Promise<T> => {
    while (held !== undefined) await held;
    writers += 1;
    try {
      return await write();
    } finally {
      writers -= 1;
      if (writers === 0) drained?.();
    }
  };
  return {
    async exclusive() {
      // Why: a window dispatches one at a time, so only repools ever wait on this.
      let open = (): void => undefined;
      held = new Promise<void>((resolve) => (open = resolve));
      if (writers > 0) await new Promise<void>((resolve) => (drained = resolve));
      drained = undefined;
      return () => {
        held = undefined;
        open();
      };
    },
    gated(pool) {
      return Object.assign(Object.create(pool) as PoolStore, {
        write: (...args: Parameters<PoolStore['write']>) => shared(() => pool.write(...args)),
      });
    },
  };
}
