import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../../src/report/html.js';
import { buildTimeline, COLLAPSE_ABOVE } from '../../../src/report/timeline.js';
import { failedRun } from './events.js';
import { fleetHost, fleetRun } from './fleet-run.js';

const thousand = fleetRun({
  clusters: [
    { dc: 'eqiad', cluster: 'appserver', hosts: 600 },
    { dc: 'eqiad', cluster: 'api_appserver', hosts: 300 },
    { dc: 'codfw', cluster: 'appserver', hosts: 100 },
  ],
  batchSize: 60,
  failing: [fleetHost('eqiad', 0, 41), fleetHost('codfw', 2, 7)],
});

describe('the report model', () => {
  it('merges the lanes of a 1,000-host run to one per batch, keeping each failed host on its own lane', () => {
    const t = buildTimeline(thousand);
    expect(t.summary.totals.hosts).toBe(1000);
    const lanes = t.clusters.map((c) => ({
      cluster: `${c.cluster}@${c.dc}`,
      collapsed: c.collapsed,
      lanes: c.lanes.length,
      hosts: c.lanes.reduce((n, l) => n + l.hosts.length, 0),
    }));
    // 10 + 5 + 2 batches, plus one lane for each failed host.
    expect(lanes).toEqual([
      { cluster: 'appserver@eqiad', collapsed: true, lanes: 11, hosts: 600 },
      { cluster: 'api_appserver@eqiad', collapsed: true, lanes: 5, hosts: 300 },
      { cluster: 'appserver@codfw', collapsed: true, lanes: 3, hosts: 100 },
    ]);
    const failed = t.clusters.flatMap((c) => c.lanes).filter((l) => l.outcome === 'failed');
    expect(failed.map((l) => l.hosts)).toEqual([[fleetHost('eqiad', 0, 41)], [fleetHost('codfw', 2, 7)]]);
    expect(failed[0]?.marks.map((m) => m.kind)).toEqual(['warning', 'failed']);
    expect(failed[0]?.spans.at(-1)).toMatchObject({ step: 'health', failed: true });
  });

  it('draws a merged lane from the median of its hosts and an envelope from the earliest start to the latest end', () => {
    const batch1 = buildTimeline(thousand).clusters[0]!.lanes.find((l) => l.batch === 1 && l.outcome === 'done')!;
    expect(batch1.hosts).toHaveLength(59);
    expect(batch1.spans.map((s) => s.step)).toEqual(['depool', 'lb-confirm', 'drain', 'restart', 'health', 'repool']);
    for (const [i, s] of batch1.spans.entries()) {
      const e = batch1.envelope[i]!;
      expect(e.startMs).toBeLessThanOrEqual(s.startMs);
      expect(e.endMs).toBeGreaterThanOrEqual(s.endMs);
    }
    expect(batch1.envelope[2]!.endMs - batch1.envelope[2]!.startMs).toBeGreaterThan(
      batch1.spans[2]!.endMs - batch1.spans[2]!.startMs,
    );
  });

  it('keeps a lane per host in a small cluster, with its batches, spans and failure', () => {
    const t = buildTimeline(failedRun);
    const app = t.clusters.find((c) => c.cluster === 'appserver')!;
    expect(app.collapsed).toBe(false);
    expect(app.lanes.map((l) => [l.hosts.join(), l.batch, l.outcome])).toEqual([
      ['mw1', 1, 'done'],
      ['mw2', 2, 'done'],
      ['mw3', 2, 'failed'],
    ]);
    expect(app.batches.map((b) => [b.batch, b.startMs, b.endMs])).toEqual([
      [1, 0, 7000],
      [2, 8000, 20_000],
    ]);
    expect(app.lanes[0]!.spans.map((s) => [s.step, s.startMs, s.endMs])).toEqual([
      ['depool', 0, 1000],
      ['lb-confirm', 1000, 2000],
      ['drain', 2000, 3000],
      ['restart', 3000, 4000],
      ['health', 4000, 5000],
      ['repool', 5000, 6000],
    ]);
    expect(app.lanes[2]!.spans.map((s) => [s.step, s.startMs, s.endMs, s.failed])).toEqual([
      ['depool', 8000, 9000, false],
      ['health', 9000, 20_000, true],
    ]);
    const api = t.clusters.find((c) => c.cluster === 'api_appserver')!;
    expect(api.notStarted).toBe(2);
    expect(api.hosts).toBe(4);
    expect(t.marks).toEqual([{ atMs: 10_000, kind: 'warning', text: 'etcd answered slowly (2.1 s)' }]);
  });

  it(`merges nothing in a cluster of ${COLLAPSE_ABOVE} hosts`, () => {
    const t = buildTimeline(
      fleetRun({ clusters: [{ dc: 'eqiad', cluster: 'appserver', hosts: COLLAPSE_ABOVE }], batchSize: 6 }),
    );
    expect(t.clusters[0]!.lanes).toHaveLength(COLLAPSE_ABOVE);
  });
});

describe('the HTML page', () => {
  const html = renderHtml(buildTimeline(thousand), {
    load: { intervalMs: 1000, samples: [{ atMs: Date.parse(thousand[0]!.time) + 2000, ok: 90, failed: 7 }] },
  });

  it('is self-contained: no script, no external URL', () => {
    expect(html).not.toMatch(/<script|<link|src=|url\(|https?:\/\/(?!x\/)/i);
  });

  it('says the host count and the totals on top, and names the failed hosts', () => {
    expect(html).toContain('data-hosts="1000"');
    expect(html).toMatch(/<b>1000<\/b>hosts/);
    expect(html).toMatch(/<b>2<\/b>failed/);
    expect(html).toContain(`${fleetHost('eqiad', 0, 41)} (appserver@eqiad) at health [E_HEALTH]`);
    expect(html).toContain('failed: 7');
  });

  it('stays small for 1,000 hosts', () => {
    expect(html.length).toBeLessThan(200_000);
  });
});
