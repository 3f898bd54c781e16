import type { PlannedBatch, PlannedHost, PlanOptions, Selection } from '../../../src/planner/types.js';

export const graceful: PlanOptions = { emergency: false, batchSize: undefined };
export const emergency: PlanOptions = { emergency: true, batchSize: undefined };
export const all: Selection = { kind: 'sync', dcs: [], clusters: [] };

/** A planned host of appserver@eqiad (override dc/cluster/depool when needed). */
export function planned(host: string, pooled: 'yes' | 'no', extra: Partial<PlannedHost> = {}): PlannedHost {
  return {
    host,
    dc: 'eqiad',
    cluster: 'appserver',
    service: 'php-fpm',
    pooled,
    weight: 10,
    depool: pooled === 'yes',
    ...extra,
  };
}

/** mw1001…: the names fleet() gives the first datacenter's hosts. */
export function names(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `mw${from + i}`);
}

/** Cuts `hosts` into consecutive batches of the given sizes. */
export function inBatches(hosts: readonly PlannedHost[], sizes: readonly number[]): PlannedBatch[] {
  let at = 0;
  const batches = sizes.map((n) => ({ hosts: hosts.slice(at, (at += n)) }));
  if (at !== hosts.length) throw new Error(`inBatches: sizes cover ${at} of ${hosts.length} hosts`);
  return batches;
}
