import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../../src/report/html.js';
import { buildTimeline } from '../../../src/report/timeline.js';
import { summarize } from '../../../src/report/summary.js';
import { fleet } from '../../support/fleet.js';
import { harness } from '../orchestrator/harness.js';

describe('the report of a window run', () => {
  it('draws no batch bands, and a line of the hosts in flight per cluster that never passes the width', async () => {
    const h = await harness(fleet().cluster('appserver', 7, { batch: 3, minPooled: 0 }).build());
    h.exec = async (host) => {
      // Why: different restart times, so the window really slides.
      h.now += host.endsWith('2') ? 5000 : 500;
      return undefined;
    };
    await h.run();
    const timeline = buildTimeline(h.events);
    const [cluster] = timeline.clusters;
    expect(cluster?.batches).toEqual([]);
    const counts = cluster?.inFlight.map((p) => p.hosts) ?? [];
    expect(Math.max(...counts)).toBe(3);
    expect(counts.at(-1)).toBe(0);
    expect(cluster?.hosts).toBe(7);
    expect(summarize(h.events).hosts.filter((x) => x.outcome === 'done')).toHaveLength(7);
    const html = renderHtml(timeline);
    expect(html).toContain('<polyline class="in-flight"');
    expect(html).toContain('in flight (peak 3)');
    expect(html).toContain('7 hosts, a sliding window');
    expect(html).not.toContain('class="band');
  });

  it('keeps the batch bands of a barrier run, with no in-flight line', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2, minPooled: 0 }).build());
    await h.run({ batchMode: 'barrier' });
    const timeline = buildTimeline(h.events);
    expect(timeline.clusters[0]?.batches).toHaveLength(2);
    expect(timeline.clusters[0]?.inFlight).toEqual([]);
    expect(renderHtml(timeline)).not.toContain('<polyline class="in-flight"');
  });
});
