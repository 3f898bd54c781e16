import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { selectClusters } from '../../../src/planner/select.js';
import type { Selection } from '../../../src/planner/types.js';
import type { Inventory } from '../../../src/inventory/types.js';

const { inventory } = fleet()
  .cluster('appserver', 2, { dc: 'eqiad' })
  .cluster('api_appserver', 2, { dc: 'eqiad' })
  .cluster('appserver', 2, { dc: 'codfw' })
  .cluster('jobrunner', 2, { dc: 'codfw' })
  .build();

const sync = (dcs: string[], clusters: string[]): Selection => ({ kind: 'sync', dcs, clusters });
const ids = (inv: Inventory, selection: Selection): string[] =>
  selectClusters(inv, selection).map((c) => `${c.name}@${c.dc}`);
const selectionError = (message: string): unknown => expect.objectContaining({ code: 'E_SELECTION', message });

describe('selectClusters', () => {
  it('selects every cluster of every datacenter for a plain sync, in inventory order', () => {
    expect(ids(inventory, sync([], []))).toEqual([
      'appserver@eqiad',
      'api_appserver@eqiad',
      'appserver@codfw',
      'jobrunner@codfw',
    ]);
  });

  it('narrows a sync by datacenter, by cluster, and by both', () => {
    expect(ids(inventory, sync(['codfw'], []))).toEqual(['appserver@codfw', 'jobrunner@codfw']);
    expect(ids(inventory, sync([], ['appserver']))).toEqual(['appserver@eqiad', 'appserver@codfw']);
    expect(ids(inventory, sync(['eqiad'], ['appserver', 'api_appserver']))).toEqual([
      'appserver@eqiad',
      'api_appserver@eqiad',
    ]);
  });

  it('selects exactly one cluster for restart', () => {
    expect(ids(inventory, { kind: 'restart', dc: 'codfw', cluster: 'appserver' })).toEqual(['appserver@codfw']);
  });

  it('names the valid datacenters when one is unknown', () => {
    expect(() => selectClusters(inventory, sync(['esams'], []))).toThrow(
      selectionError('unknown datacenter "esams"; valid: eqiad, codfw'),
    );
    expect(() => selectClusters(inventory, { kind: 'restart', dc: 'x', cluster: 'appserver' })).toThrow(
      selectionError('unknown datacenter "x"; valid: eqiad, codfw'),
    );
  });

  it('names the valid clusters when one is unknown', () => {
    expect(() => selectClusters(inventory, sync([], ['appservr']))).toThrow(
      selectionError('unknown cluster "appservr"; valid: appserver, api_appserver, jobrunner'),
    );
  });

  it('refuses a cluster that is not in the datacenter given', () => {
    expect(() => selectClusters(inventory, { kind: 'restart', dc: 'eqiad', cluster: 'jobrunner' })).toThrow(
      selectionError(
        'cluster "jobrunner" is not in datacenter "eqiad"; clusters there: appserver, api_appserver; "jobrunner" is in: codfw',
      ),
    );
    expect(() => selectClusters(inventory, sync(['eqiad'], ['appserver', 'jobrunner']))).toThrow(
      selectionError('cluster "jobrunner" is not in datacenter eqiad; it is in: codfw'),
    );
  });

  it('refuses a selection that matches no cluster', () => {
    const withEmptyDc: Inventory = {
      ...inventory,
      datacenters: [...inventory.datacenters, { name: 'esams', clusters: [] }],
    };
    expect(() => selectClusters(withEmptyDc, sync(['esams'], []))).toThrow(
      expect.objectContaining({ code: 'E_SELECTION' }),
    );
    expect(() => selectClusters(withEmptyDc, sync(['esams'], []))).toThrow(/matches no cluster.*appserver@eqiad/);
  });
});
