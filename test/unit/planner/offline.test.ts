import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { isBlocked, offlineSnapshot, planRollout, poolKeysFor } from '../../../src/planner/plan.js';
import { selectClusters } from '../../../src/planner/select.js';
import { allClusters } from '../../../src/inventory/types.js';
import { all, graceful } from './helpers.js';

describe('offline planning helpers', () => {
  const { inventory } = fleet()
    .cluster('appserver', 2, { dc: 'eqiad', settings: { weight: 30 } })
    .cluster('appserver', 1, { dc: 'codfw', settings: { service: 'nginx' } })
    .build();

  it('lists the pool key of every host of the clusters, in order', () => {
    expect(poolKeysFor(allClusters(inventory))).toEqual([
      { dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host: 'mw1001' },
      { dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host: 'mw1002' },
      { dc: 'codfw', cluster: 'appserver', service: 'nginx', host: 'mw2001' },
    ]);
  });

  it('treats every host as pooled with its inventory weight when offline', () => {
    const snapshot = offlineSnapshot(
      inventory,
      selectClusters(inventory, { kind: 'restart', dc: 'eqiad', cluster: 'appserver' }),
    );
    expect([...snapshot.entries()]).toEqual([
      [
        'eqiad/appserver/php-fpm/mw1001',
        {
          key: { dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host: 'mw1001' },
          state: 'present',
          value: { pooled: 'yes', weight: 30 },
          modRevision: 0,
        },
      ],
      [
        'eqiad/appserver/php-fpm/mw1002',
        {
          key: { dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host: 'mw1002' },
          state: 'present',
          value: { pooled: 'yes', weight: 30 },
          modRevision: 0,
        },
      ],
    ]);
    expect(offlineSnapshot(inventory).size).toBe(3);
  });

  it('reads the pool state under the service from the host settings', () => {
    const plan = planRollout({ inventory, selection: all, snapshot: offlineSnapshot(inventory), options: graceful });
    expect(plan.clusters.map((c) => [c.dc, c.service, c.toRestart])).toEqual([
      ['eqiad', 'php-fpm', 2],
      ['codfw', 'nginx', 1],
    ]);
  });

  it('says a plan is blocked when one of its clusters is', () => {
    const blocked = fleet()
      .cluster('appserver', 4, { pooled: 2, depooled: 2, minPooled: '50%' })
      .cluster('api', 4)
      .build();
    const plan = planRollout({
      inventory: blocked.inventory,
      selection: all,
      snapshot: blocked.snapshot,
      options: graceful,
    });
    expect(plan.clusters.map((c) => c.blocked !== null)).toEqual([true, false]);
    expect(isBlocked(plan)).toBe(true);
    const fine = planRollout({
      inventory: blocked.inventory,
      selection: { kind: 'restart', dc: 'eqiad', cluster: 'api' },
      snapshot: blocked.snapshot,
      options: graceful,
    });
    expect(isBlocked(fine)).toBe(false);
  });
});
