import type { PoolKey } from '../pool/types.js';
import type { PybalPoller } from './pybal-poller.js';

/**
 * What the orchestrator asks of the load balancers' agents: who is registered in a datacenter,
 * whether they have applied a pool write, and a wake-up when that may have changed. The etcd
 * adapter follows one watch per datacenter (confirm-watch.ts); the memory one is driven by tests.
 */
export interface LbConfirmations {
  /** The agents registered in the datacenter now. */
  agents(dc: string): Promise<readonly string[]>;
  /** Of `agents`, those that have not yet applied `revision` (or later) of the pool key. */
  notApplied(key: PoolKey, revision: number, agents: readonly string[]): Promise<readonly string[]>;
  /** Resolves at the next change to the datacenter's agents or what they applied, or when `signal` aborts. */
  changed(dc: string, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
  /** PyBal's instrumentation API, for datacenters with `lb.confirm: pybal`; absent: such hosts fail closed. */
  readonly pybal?: PybalPoller;
}

/** The agents' confirmations, with PyBal's poller behind the same port (closed with it). */
export function withPybal(lb: LbConfirmations, pybal: PybalPoller): LbConfirmations {
  return {
    agents: (dc) => lb.agents(dc),
    notApplied: (key, revision, agents) => lb.notApplied(key, revision, agents),
    changed: (dc, signal) => lb.changed(dc, signal),
    pybal,
    async close() {
      await Promise.all([lb.close(), pybal.close()]);
    },
  };
}
