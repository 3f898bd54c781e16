import { describe, expect, it } from 'vitest';
import { renderStatusTable, statusRows, type ChangeNote } from '../../../src/commands/status-rows.js';
import { allClusters } from '../../../src/inventory/types.js';
import { fleet } from '../../support/fleet.js';

const note = (revision: number, reason: string): ChangeNote => ({
  revision,
  by: 'alice@deploy1',
  reason,
  time: '2026-11-24T20:00:00.000Z',
});

describe('statusRows', () => {
  const { inventory, snapshot } = fleet()
    .cluster('appserver', 4, { states: ['yes', 'no', 'missing', 'malformed'] })
    .build();
  const clusters = allClusters(inventory);

  it('gives one row per inventory host with its pooled state and weight', () => {
    const rows = statusRows(clusters, snapshot, new Map());
    expect(rows.map((r) => [r.host, r.pooled, r.weight])).toEqual([
      ['mw1001', 'yes', 10],
      ['mw1002', 'no', 10],
      ['mw1003', 'missing', null],
      ['mw1004', 'malformed', null],
    ]);
    expect(rows[0]).toMatchObject({
      dc: 'eqiad',
      cluster: 'appserver',
      service: 'php-fpm',
      changedBy: null,
      reason: null,
      changedAt: null,
    });
  });

  it('shows who changed a key only while the key is still at the revision they wrote', () => {
    // mw1002 sits at modRevision 2 in the fleet snapshot.
    const current = statusRows(
      clusters,
      snapshot,
      new Map([['eqiad/appserver/php-fpm/mw1002', note(2, 'depool: disk')]]),
    );
    expect(current[1]).toMatchObject({ changedBy: 'alice@deploy1', reason: 'depool: disk' });
    const stale = statusRows(clusters, snapshot, new Map([['eqiad/appserver/php-fpm/mw1002', note(1, 'depool: old')]]));
    expect(stale[1]).toMatchObject({ changedBy: null, reason: null });
  });
});

describe('renderStatusTable', () => {
  it('aligns the columns and shows a missing weight as -', () => {
    const { inventory, snapshot } = fleet()
      .cluster('api', 2, { states: ['yes', 'missing'] })
      .build();
    const text = renderStatusTable(statusRows(allClusters(inventory), snapshot, new Map()));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DC\s+CLUSTER\s+SERVICE\s+HOST\s+POOLED\s+WEIGHT\s+CHANGED BY \/ WHY$/);
    expect(lines[2]).toMatch(/^eqiad\s+api\s+php-fpm\s+mw1002\s+missing\s+-$/);
    expect(lines[1]?.indexOf('yes')).toBe(lines[2]?.indexOf('missing'));
  });
});

describe('statusRows for hosts in several pools', () => {
  it('gives one row per host with the state of each service, pooled only when pooled in all', () => {
    const { inventory, snapshot } = fleet()
      .cluster('appserver', 2, { states: ['yes', 'yes'], settings: { service: 'apache2' } })
      .build();
    for (const host of allClusters(inventory)[0]?.hosts ?? [])
      Object.assign(host.settings, { services: ['apache2', 'nginx'] });
    const withNginx = new Map(snapshot);
    for (const [host, pooled] of [
      ['mw1001', 'yes'],
      ['mw1002', 'no'],
    ] as const) {
      const key = { dc: 'eqiad', cluster: 'appserver', service: 'nginx', host };
      withNginx.set(`eqiad/appserver/nginx/${host}`, {
        key,
        state: 'present',
        value: { pooled, weight: 5 },
        modRevision: 9,
      });
    }
    const rows = statusRows(
      allClusters(inventory),
      withNginx,
      new Map([['eqiad/appserver/nginx/mw1002', note(9, 'depool: nginx only')]]),
    );
    expect(rows.map((r) => [r.host, r.service, r.pooled])).toEqual([
      ['mw1001', 'apache2,nginx', 'yes'],
      ['mw1002', 'apache2,nginx', 'no'],
    ]);
    expect(rows[1]?.pools).toEqual([
      { service: 'apache2', pooled: 'yes', weight: 10 },
      { service: 'nginx', pooled: 'no', weight: 5 },
    ]);
    expect(rows[1]?.reason).toBe('depool: nginx only');
    expect(renderStatusTable(rows)).toMatch(/mw1002\s+apache2=yes nginx=no\s+10/);
  });
});
