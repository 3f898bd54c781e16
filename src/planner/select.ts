import { RolloutError } from '../errors.js';
import type { Inventory, InventoryCluster } from '../inventory/types.js';
import type { Selection } from './types.js';

/**
 * The clusters a command touches, in inventory order.
 * `sync`: every cluster of every datacenter, narrowed by `dcs` and `clusters` (empty = all).
 * `restart`: exactly the one cluster in the one datacenter.
 * Throws E_SELECTION naming the valid choices for an unknown name or an empty match.
 */
export function selectClusters(inventory: Inventory, selection: Selection): InventoryCluster[] {
  if (selection.kind === 'restart') return [selectOne(inventory, selection.dc, selection.cluster)];
  for (const dc of selection.dcs) checkDc(inventory, dc);
  for (const cluster of selection.clusters) checkCluster(inventory, cluster);
  const dcs = inventory.datacenters.filter((dc) => selection.dcs.length === 0 || selection.dcs.includes(dc.name));
  const selected = dcs.flatMap((dc) =>
    dc.clusters.filter((c) => selection.clusters.length === 0 || selection.clusters.includes(c.name)),
  );
  // A named cluster absent from every selected datacenter is a typo or a wrong --dc: say so.
  for (const name of selection.clusters) {
    if (!selected.some((c) => c.name === name)) {
      throw new RolloutError(
        'E_SELECTION',
        `cluster "${name}" is not in datacenter ${dcs.map((d) => d.name).join(', ')}; it is in: ${dcsOf(inventory, name).join(', ')}`,
      );
    }
  }
  if (selected.length === 0) {
    throw new RolloutError(
      'E_SELECTION',
      `the selection matches no cluster in ${inventory.file}; valid clusters: ${describeAll(inventory)}`,
    );
  }
  return selected;
}

function selectOne(inventory: Inventory, dcName: string, clusterName: string): InventoryCluster {
  const dc = checkDc(inventory, dcName);
  checkCluster(inventory, clusterName);
  const cluster = dc.clusters.find((c) => c.name === clusterName);
  if (cluster === undefined) {
    throw new RolloutError(
      'E_SELECTION',
      `cluster "${clusterName}" is not in datacenter "${dcName}"; clusters there: ${names(dc.clusters).join(', ') || '(none)'}; "${clusterName}" is in: ${dcsOf(inventory, clusterName).join(', ')}`,
    );
  }
  return cluster;
}

function checkDc(inventory: Inventory, name: string): Inventory['datacenters'][number] {
  const dc = inventory.datacenters.find((d) => d.name === name);
  if (dc === undefined) {
    throw new RolloutError(
      'E_SELECTION',
      `unknown datacenter "${name}"; valid: ${names(inventory.datacenters).join(', ')}`,
    );
  }
  return dc;
}

function checkCluster(inventory: Inventory, name: string): void {
  const all = unique(inventory.datacenters.flatMap((dc) => names(dc.clusters)));
  if (!all.includes(name)) throw new RolloutError('E_SELECTION', `unknown cluster "${name}"; valid: ${all.join(', ')}`);
}

function dcsOf(inventory: Inventory, cluster: string): string[] {
  return inventory.datacenters.filter((dc) => dc.clusters.some((c) => c.name === cluster)).map((dc) => dc.name);
}

function describeAll(inventory: Inventory): string {
  return inventory.datacenters.flatMap((dc) => dc.clusters.map((c) => `${c.name}@${dc.name}`)).join(', ') || '(none)';
}

function names(items: readonly { readonly name: string }[]): string[] {
  return items.map((i) => i.name);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
