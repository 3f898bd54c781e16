import type { PoolKey } from '../pool/types.js';
import { poolKeyId } from '../pool/types.js';
import { createChangeSignal, type ChangeSignal } from './change-signal.js';
import type { LbConfirmations } from './confirm-port.js';

/** The memory adapter: agents and what they applied are set by the test that drives it. */
export interface MemoryLbConfirmations extends LbConfirmations {
  /** Registers (or, with false, removes) an agent. */
  register(dc: string, agentId: string, present?: boolean): void;
  /** The agent has applied the pool key's write at `revision`. */
  apply(agentId: string, key: PoolKey, revision: number): void;
}

export function createMemoryLbConfirmations(): MemoryLbConfirmations {
  const agents = new Map<string, Set<string>>();
  const applied = new Map<string, number>();
  const changes = new Map<string, ChangeSignal>();
  const changesOf = (dc: string): ChangeSignal => {
    let change = changes.get(dc);
    if (change === undefined) {
      change = createChangeSignal();
      changes.set(dc, change);
    }
    return change;
  };
  const wake = (dc: string): void => changesOf(dc).fire();
  const of = (dc: string): Set<string> => {
    let set = agents.get(dc);
    if (set === undefined) {
      set = new Set();
      agents.set(dc, set);
    }
    return set;
  };
  return {
    register(dc, agentId, present = true) {
      if (present) of(dc).add(agentId);
      else of(dc).delete(agentId);
      wake(dc);
    },
    apply(agentId, key, revision) {
      applied.set(`${agentId} ${poolKeyId(key)}`, revision);
      wake(key.dc);
    },
    agents: async (dc) => [...of(dc)],
    notApplied: async (key, revision, list) =>
      list.filter((agent) => (applied.get(`${agent} ${poolKeyId(key)}`) ?? 0) < revision),
    changed: (dc, signal) => changesOf(dc).next(signal),
    async close() {
      for (const change of changes.values()) change.fire();
    },
  };
}
