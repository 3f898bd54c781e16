import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LbAgentObserver } from './observe.js';

/** The metric names and labels: a stable, documented set (docs/lb-agent.md); a unit test holds them. */
export const METRICS = {
  changes: { name: 'rollout_lb_agent_pool_changes_total', labels: ['result'] },
  latency: { name: 'rollout_lb_agent_apply_latency_seconds', labels: [] },
  applied: { name: 'rollout_lb_agent_applied_revision', labels: [] },
  store: { name: 'rollout_lb_agent_store_revision', labels: [] },
  lag: { name: 'rollout_lb_agent_revision_lag', labels: [] },
  watchRestarts: { name: 'rollout_lb_agent_watch_restarts_total', labels: [] },
  resyncs: { name: 'rollout_lb_agent_resyncs_total', labels: [] },
  haproxyErrors: { name: 'rollout_lb_agent_haproxy_command_errors_total', labels: [] },
  malformed: { name: 'rollout_lb_agent_malformed_values_total', labels: [] },
  server: { name: 'rollout_lb_agent_server_weight', labels: ['backend', 'server', 'pooled'] },
  ready: { name: 'rollout_lb_agent_ready', labels: [] },
} as const;

export interface AgentMetrics {
  readonly registry: Registry;
  readonly observer: Partial<LbAgentObserver>;
  /** Sets rollout_lb_agent_ready from the health state, just before a scrape. */
  setReady(ready: boolean): void;
}

/** The agent's Prometheus metrics, on a registry of their own (no process-wide default). */
export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  const changes = new Counter({
    name: METRICS.changes.name,
    help: 'pool changes handled, by result (applied, failed, missing-server, malformed)',
    labelNames: [...METRICS.changes.labels],
    registers,
  });
  const latency = new Histogram({
    name: METRICS.latency.name,
    help: 'from the pool change seen in etcd to the HAProxy command done',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const applied = new Gauge({
    name: METRICS.applied.name,
    help: 'the highest pool key revision applied to HAProxy',
    registers,
  });
  const store = new Gauge({
    name: METRICS.store.name,
    help: 'the highest pool key revision seen in etcd for this datacenter',
    registers,
  });
  const lag = new Gauge({
    name: METRICS.lag.name,
    help: 'store revision minus applied revision (0 when caught up)',
    registers,
  });
  const watchRestarts = new Counter({
    name: METRICS.watchRestarts.name,
    help: 'etcd watches that ended and were opened again',
    registers,
  });
  const resyncs = new Counter({
    name: METRICS.resyncs.name,
    help: 'full resynchronisations (list + new watch)',
    registers,
  });
  const haproxyErrors = new Counter({
    name: METRICS.haproxyErrors.name,
    help: 'HAProxy runtime API commands that failed',
    registers,
  });
  const malformed = new Counter({
    name: METRICS.malformed.name,
    help: 'pool values refused as unreadable (never applied)',
    registers,
  });
  const server = new Gauge({
    name: METRICS.server.name,
    help: 'per backend and server, the weight last applied, labelled with the pool state (yes, no, inactive)',
    labelNames: [...METRICS.server.labels],
    registers,
  });
  const ready = new Gauge({
    name: METRICS.ready.name,
    help: '1 when registered, watching etcd and the last reconcile succeeded',
    registers,
  });
  return {
    registry,
    setReady: (ok) => ready.set(ok ? 1 : 0),
    observer: {
      resynced: (restart) => {
        resyncs.inc();
        if (restart) watchRestarts.inc();
      },
      haproxyError: () => haproxyErrors.inc(),
      revisions: (a, s) => {
        applied.set(a);
        store.set(s);
        lag.set(Math.max(0, s - a));
      },
      change: (result, detail) => {
        changes.inc({ result });
        if (result === 'malformed') malformed.inc();
        if (result !== 'applied') return;
        if (detail.latencyMs !== undefined) latency.observe(detail.latencyMs / 1000);
        if (detail.backend !== undefined && detail.server !== undefined && detail.pooled !== undefined) {
          // Why: one series per server: the label with the pool state it holds now.
          for (const pooled of ['yes', 'no', 'inactive'])
            if (pooled !== detail.pooled) server.remove({ backend: detail.backend, server: detail.server, pooled });
          server.set({ backend: detail.backend, server: detail.server, pooled: detail.pooled }, detail.weight ?? 0);
        }
      },
    },
  };
}
