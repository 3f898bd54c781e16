import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { planRollout } from '../../../src/planner/plan.js';
import { renderPlanText } from '../../../src/report/plan-text.js';
import { planToJson } from '../../../src/report/plan-json.js';
import { all, emergency, graceful } from './helpers.js';

const { inventory, snapshot } = fleet()
  .cluster('appserver', 6, {
    dc: 'eqiad',
    states: ['yes', 'yes', 'no', 'yes', 'inactive', 'missing'],
    batch: 2,
    minPooled: 1,
  })
  .cluster('api_appserver', 4, { dc: 'codfw', pooled: 2, depooled: 2, batch: '25%', minPooled: '50%' })
  .build();
const plan = planRollout({ inventory, selection: all, snapshot, options: graceful });

describe('renderPlanText', () => {
  it('shows each cluster with its counts, arithmetic, batches and skipped hosts', () => {
    expect(renderPlanText(plan)).toBe(
      [
        'Plan: per host depool → LB confirm → drain → restart → health → repool, a sliding window per cluster',
        '',
        'appserver@eqiad (php-fpm)',
        '  hosts:   6 (3 pooled, 1 depooled by others, 1 inactive, 1 missing)',
        '  batches: 2 of 4 hosts → 2 per batch',
        "  window:  window 2 (2 of 4 hosts); a host starts as soon as one of the cluster's completes (the batches below are the order)",
        '  guard:   min 1 of 4 → 1 must stay pooled; 3 pooled → at most 2 depooled at once',
        '  1. mw1001, mw1002',
        '  2. mw1003 (depooled by others: restart only), mw1004',
        '  skipped mw1005: inactive',
        '  skipped mw1006: missing: no pool key in etcd (create it with `rollout pool mw1006`)',
        '',
        'api_appserver@codfw (php-fpm)',
        '  hosts:   4 (2 pooled, 2 depooled by others)',
        '  batches: 25% of 4 hosts → 1 per batch, rounded up',
        '  guard:   min 50% of 4 → 2 must stay pooled; 2 pooled → at most 0 depooled at once',
        "  BLOCKED: capacity guard: 2 of 4 hosts of api_appserver@codfw must stay pooled (min 50%) and 2 are pooled, so no host can be depooled; repool hosts depooled by hand or lower the cluster's minPooled",
        '',
        '2 clusters: 4 hosts to restart in 2 batches, 2 skipped; BLOCKED by the capacity guard: api_appserver@codfw',
        '',
      ].join('\n'),
    );
  });

  it('in barrier mode says each batch waits, and shows no window', () => {
    const text = renderPlanText(
      planRollout({ inventory, selection: all, snapshot, options: { ...graceful, batchMode: 'barrier' } }),
    );
    expect(text).toMatch(/^Plan: per batch depool/);
    expect(text).not.toContain('window:');
  });

  it('says an emergency plan depools nothing and has no guard', () => {
    const text = renderPlanText(planRollout({ inventory, selection: all, snapshot, options: emergency }));
    expect(text).toMatch(/^EMERGENCY plan: hard restart in batches, no depool/);
    expect(text).toContain('  guard:   none (emergency: nothing is depooled)');
    expect(text).not.toContain('BLOCKED');
    expect(text).toContain('2 clusters: 8 hosts to restart in 6 batches, 2 skipped\n');
  });
});

describe('planToJson', () => {
  it('gives host names as strings, the depooled ones per batch, skipped hosts and blocks', () => {
    const json = planToJson(plan);
    expect(json).toEqual({
      emergency: false,
      clusters: [
        {
          dc: 'eqiad',
          cluster: 'appserver',
          service: 'php-fpm',
          counts: { total: 6, yes: 3, no: 1, inactive: 1, missing: 1, malformed: 0 },
          toRestart: 4,
          batchSize: ['2'],
          batchText: '2 of 4 hosts → 2 per batch',
          guard: {
            minPooled: '1',
            considered: 4,
            required: 1,
            pooled: 3,
            maxDepool: 2,
            text: 'min 1 of 4 → 1 must stay pooled; 3 pooled → at most 2 depooled at once',
          },
          batches: [
            { hosts: ['mw1001', 'mw1002'], depool: ['mw1001', 'mw1002'] },
            { hosts: ['mw1003', 'mw1004'], depool: ['mw1004'] },
          ],
          skipped: [
            { host: 'mw1005', reason: 'inactive' },
            { host: 'mw1006', reason: 'missing: no pool key in etcd (create it with `rollout pool mw1006`)' },
          ],
          blocked: null,
          mode: 'window',
          window: { widths: [2], text: 'window 2 (2 of 4 hosts)' },
        },
        {
          dc: 'codfw',
          cluster: 'api_appserver',
          service: 'php-fpm',
          counts: { total: 4, yes: 2, no: 2, inactive: 0, missing: 0, malformed: 0 },
          toRestart: 4,
          batchSize: ['25%'],
          batchText: '25% of 4 hosts → 1 per batch, rounded up',
          guard: {
            minPooled: '50%',
            considered: 4,
            required: 2,
            pooled: 2,
            maxDepool: 0,
            text: 'min 50% of 4 → 2 must stay pooled; 2 pooled → at most 0 depooled at once',
          },
          batches: [],
          skipped: [],
          blocked: {
            reason: expect.stringContaining('2 of 4 hosts of api_appserver@codfw must stay pooled') as unknown,
            pooled: 2,
            required: 2,
          },
          mode: 'window',
        },
      ],
    });
  });

  it('survives a JSON round trip unchanged', () => {
    const json = planToJson(planRollout({ inventory, selection: all, snapshot, options: emergency }));
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.clusters.map((c) => c.guard)).toEqual([null, null]);
    expect(json.clusters.flatMap((c) => c.batches.flatMap((b) => b.depool))).toEqual([]);
  });
});
