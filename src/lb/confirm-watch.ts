import type { Kv, Watch, WatchEvent } from '../kv/kv.js';
import { agentKeyPrefix, appliedKey, appliedRevisionOf, lbDcPrefix } from './keys.js';
import { createChangeSignal, type ChangeSignal } from './change-signal.js';
import type { LbConfirmations } from './confirm-port.js';

/** One datacenter's agents and applied revisions, as a watch delivers them. */
interface DcView {
  readonly agents: Set<string>;
  /** Applied key → the pool revision it confirms. */
  readonly applied: Map<string, number>;
  readonly changes: ChangeSignal;
  ready: Promise<void> | undefined;
  watch: Watch | undefined;
}

/**
 * LB confirmations from one list and one watch per datacenter on `/rollout/v1/lb/<dc>/`, instead of
 * a list and a get per agent per host every poll: answering costs no request once the view is up.
 * A watch that ends (compaction, a reconnect) drops the view; the next question lists again.
 */
export function createWatchedLbConfirmations(kv: Kv): LbConfirmations {
  const views = new Map<string, DcView>();

  const wake = (view: DcView): void => view.changes.fire();

  function apply(dc: string, view: DcView, event: WatchEvent): void {
    const key = event.type === 'put' ? event.entry.key : event.key;
    const agents = agentKeyPrefix(dc);
    if (key.startsWith(agents)) {
      if (event.type === 'put') view.agents.add(key.slice(agents.length));
      else view.agents.delete(key.slice(agents.length));
    } else if (event.type === 'put') view.applied.set(key, appliedRevisionOf(event.entry.value));
    else view.applied.delete(key);
    wake(view);
  }

  function view(dc: string): Promise<DcView> {
    let v = views.get(dc);
    if (v === undefined) {
      v = { agents: new Set(), applied: new Map(), changes: createChangeSignal(), ready: undefined, watch: undefined };
      views.set(dc, v);
    }
    const current = v;
    current.ready ??= (async () => {
      const prefix = lbDcPrefix(dc);
      const range = await kv.range(prefix);
      current.agents.clear();
      current.applied.clear();
      for (const entry of range.entries) apply(dc, current, { type: 'put', entry });
      current.watch = await kv.watch(prefix, range.revision, {
        onEvent: (event) => apply(dc, current, event),
        onResync: () => {
          // Why: events may have been missed; the next question reads the datacenter afresh.
          current.ready = undefined;
          void current.watch?.close().catch(() => undefined);
          wake(current);
        },
      });
    })().catch((error: unknown) => {
      current.ready = undefined;
      throw error;
    });
    return current.ready.then(() => current);
  }

  return {
    async agents(dc) {
      return [...(await view(dc)).agents];
    },
    async notApplied(key, revision, agents) {
      const v = await view(key.dc);
      return agents.filter((agent) => (v.applied.get(appliedKey(agent, key)) ?? 0) < revision);
    },
    async changed(dc, signal) {
      await (await view(dc)).changes.next(signal);
    },
    async close() {
      const all = [...views.values()];
      views.clear();
      await Promise.all(all.map((v) => v.watch?.close().catch(() => undefined)));
      for (const v of all) wake(v);
    },
  };
}
