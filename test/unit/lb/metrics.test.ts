import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createAgentMetrics, METRICS } from '../../../src/lb/metrics.js';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/lb-agent.md');

describe('the LB agent metrics', () => {
  it('are exactly the documented, stable set of names and labels', async () => {
    const { registry } = createAgentMetrics();
    const found = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(found).toEqual(
      Object.values(METRICS)
        .map((m) => m.name)
        .sort(),
    );
    expect(Object.fromEntries(Object.values(METRICS).map((m) => [m.name, [...m.labels]]))).toEqual({
      rollout_lb_agent_pool_changes_total: ['result'],
      rollout_lb_agent_apply_latency_seconds: [],
      rollout_lb_agent_applied_revision: [],
      rollout_lb_agent_store_revision: [],
      rollout_lb_agent_revision_lag: [],
      rollout_lb_agent_watch_restarts_total: [],
      rollout_lb_agent_resyncs_total: [],
      rollout_lb_agent_haproxy_command_errors_total: [],
      rollout_lb_agent_malformed_values_total: [],
      rollout_lb_agent_server_weight: ['backend', 'server', 'pooled'],
      rollout_lb_agent_ready: [],
    });
    const doc = fs.readFileSync(DOC, 'utf8');
    for (const m of Object.values(METRICS)) expect(doc, `${m.name} is documented`).toContain(`\`${m.name}\``);
  });

  it('keeps one series per server, labelled with the pool state last applied', async () => {
    const { registry, observer } = createAgentMetrics();
    observer.change?.('applied', { backend: 'b', server: 's', pooled: 'no', weight: 10, latencyMs: 40 });
    observer.change?.('applied', { backend: 'b', server: 's', pooled: 'yes', weight: 20, latencyMs: 60 });
    const text = await registry.metrics();
    expect(text).toContain('rollout_lb_agent_server_weight{backend="b",server="s",pooled="yes"} 20');
    expect(text).not.toContain('pooled="no"');
    expect(text).toContain('rollout_lb_agent_pool_changes_total{result="applied"} 2');
    expect(text).toContain('rollout_lb_agent_apply_latency_seconds_count 2');
  });
});
