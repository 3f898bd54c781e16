/** What the LB agent reports as it works, for its health endpoint and its metrics. */
export interface LbAgentObserver {
  /** One pass over the loop began (liveness). */
  loop(nowMs: number): void;
  registered(ok: boolean): void;
  /** The etcd watch is live (true) or must be re-established (false). */
  watching(ok: boolean): void;
  /** A full resync (list + new watch) was done; `restart` when an open watch had ended first. */
  resynced(restart: boolean): void;
  /** The last reconcile pass with HAProxy: ok, or the error that stopped a key. */
  reconciled(ok: boolean, error?: string): void;
  /** A pool change handled: applied to HAProxy, failed, no such server, or a value it refused. */
  change(
    result: 'applied' | 'failed' | 'missing-server' | 'malformed',
    detail: {
      backend?: string;
      server?: string;
      latencyMs?: number;
      revision?: number;
      pooled?: string;
      weight?: number;
    },
  ): void;
  haproxyError(): void;
  /** The revisions it has applied up to, and the store's (for the lag). */
  revisions(applied: number, store: number): void;
}

export const noObserver: LbAgentObserver = {
  loop: () => undefined,
  registered: () => undefined,
  watching: () => undefined,
  resynced: () => undefined,
  reconciled: () => undefined,
  change: () => undefined,
  haproxyError: () => undefined,
  revisions: () => undefined,
};

/** Liveness and readiness as the agent reported them; `/healthz` and `/readyz` answer from it. */
export class AgentHealth {
  lastLoopMs = 0;
  isRegistered = false;
  isWatching = false;
  reconcileOk = false;
  reconcileError: string | undefined;

  /** Alive while the loop has turned within `staleMs`. */
  alive(nowMs: number, staleMs: number): boolean {
    return this.lastLoopMs > 0 && nowMs - this.lastLoopMs <= staleMs;
  }

  /** Why the agent is not ready, or undefined when it is (registered, watching, last reconcile ok). */
  notReady(): string | undefined {
    if (!this.isRegistered) return 'not registered in etcd (no live lease)';
    if (!this.isWatching) return 'the etcd watch is not live';
    if (!this.reconcileOk)
      return `the last reconcile with HAProxy failed${this.reconcileError ? `: ${this.reconcileError}` : ''}`;
    return undefined;
  }
}

/** Fans the agent's reports out to several observers (health, metrics). */
export function observers(...list: readonly Partial<LbAgentObserver>[]): LbAgentObserver {
  const all =
    (name: keyof LbAgentObserver) =>
    (...args: unknown[]) => {
      for (const o of list) (o[name] as ((...a: unknown[]) => void) | undefined)?.(...args);
    };
  return {
    loop: all('loop'),
    registered: all('registered'),
    watching: all('watching'),
    resynced: all('resynced'),
    reconciled: all('reconciled'),
    change: all('change'),
    haproxyError: all('haproxyError'),
    revisions: all('revisions'),
  };
}

/** The observer that keeps an AgentHealth up to date. */
export function healthObserver(health: AgentHealth): Partial<LbAgentObserver> {
  return {
    loop: (nowMs) => void (health.lastLoopMs = nowMs),
    registered: (ok) => void (health.isRegistered = ok),
    watching: (ok) => void (health.isWatching = ok),
    reconciled: (ok, error) => {
      health.reconcileOk = ok;
      health.reconcileError = error;
    },
  };
}
