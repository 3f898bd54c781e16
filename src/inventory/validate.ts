// Pure validation of a parsed inventory: every problem at once, each with file:line:col and key path.
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { readHosts, type HostDraft } from './hosts.js';
import { naturalCompare } from './natural-sort.js';
import { readEtcd, readRun } from './sections.js';
import { readAlerts, readMetrics, readNotify } from './ops.js';
import { EMPTY_SETTINGS, mergeSettings, readSettings, SETTING_KEYS, type RawSettings } from './settings.js';
import { checkCanaryHosts } from './canary.js';
import { clusterReleaseUses, hostReleaseUses } from './release-uses.js';
import { resolveClusterSettings, resolveHostSettings } from './resolve.js';
import type { CanarySettings, Inventory, InventoryCluster, InventoryDatacenter, InventoryHost } from './types.js';
import { error, isEmpty, join, readMap, where, type Ctx, type Located } from './yaml-nodes.js';

/** The outcome of validation: an inventory only when there is no error (changesets-style). */
export interface ValidationResult {
  readonly inventory: Inventory | null;
  readonly errors: string[];
  readonly warnings: string[];
}

/** Options of validateInventory. */
export interface ValidateOptions {
  /** The LineCounter given to the YAML parser; without it every position reads 1:1. */
  readonly lineCounter?: LineCounter;
}

const ROOT_KEYS = ['etcd', 'run', 'defaults', 'datacenters', 'alerts', 'notify', 'metrics'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Keys that belong elsewhere, with where to put them (instead of a bare "unknown key"). */
const MISPLACED: Readonly<Record<string, string>> = {
  port: '"port" is short for ssh.port on a host entry; at this level write ssh: { port: … }',
  address: '"address" belongs to a host entry: - { name: …, address: … }',
  etcd: '"etcd" is a top-level section; move it to the top of the file',
  run: '"run" is a top-level section; move it to the top of the file',
};
const NO_HOSTS_HERE = { ...MISPLACED, hosts: '"hosts" belong to a cluster: datacenters.<dc>.clusters.<cluster>.hosts' };
const NO_CLUSTERS_HERE = { ...MISPLACED, clusters: '"clusters" belong to a datacenter: datacenters.<dc>.clusters' };

/** Parses YAML text (pure) and validates it: the usual entry point, positions included. */
export function validateInventoryText(text: string, file: string): ValidationResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: true, uniqueKeys: true });
  return validateInventory(doc, file, { lineCounter });
}

/** Validates a parsed YAML document; `file` prefixes every message. */
export function validateInventory(doc: Document, file: string, options: ValidateOptions = {}): ValidationResult {
  const ctx: Ctx = { file, doc, lineCounter: options.lineCounter, errors: [], warnings: [] };
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      // The position is already in front; yaml's own "at line N, column M:" would repeat it.
      const message = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      ctx.errors.push(`${file}:${pos?.line ?? 1}:${pos?.col ?? 1}: YAML syntax: ${message} (${e.code})`);
    }
    return { inventory: null, errors: ctx.errors, warnings: ctx.warnings };
  }
  const root = doc.contents as Node | null;
  if (isEmpty(root)) {
    error(
      ctx,
      root,
      '(document)',
      'expected a mapping with etcd, run, defaults and datacenters, got an empty document',
    );
    return { inventory: null, errors: ctx.errors, warnings: ctx.warnings };
  }
  const top = readMap(ctx, root, '(document)', ROOT_KEYS);
  if (top === undefined) return { inventory: null, errors: ctx.errors, warnings: ctx.warnings };
  const etcd = readEtcd(ctx, top.get('etcd')?.value ?? null);
  const run = readRun(ctx, top.get('run')?.value ?? null);
  const defaultsNode = top.get('defaults')?.value ?? null;
  const defaults = isEmpty(defaultsNode) ? EMPTY_SETTINGS : readLevel(ctx, defaultsNode, 'defaults', []);
  const dcs = top.get('datacenters');
  let datacenters: InventoryDatacenter[] = [];
  if (dcs === undefined)
    error(
      ctx,
      root,
      'datacenters',
      'missing: the inventory needs a "datacenters:" mapping of datacenter → clusters → hosts',
    );
  else datacenters = readDatacenters(ctx, dcs.value, defaults);
  const alerts = readAlerts(ctx, top.get('alerts')?.value ?? null);
  const notify = readNotify(ctx, top.get('notify')?.value ?? null);
  const metrics = readMetrics(ctx, top.get('metrics')?.value ?? null);
  const ops = { ...(alerts && { alerts }), ...(notify && { notify }), ...(metrics && { metrics }) };
  const inventory = ctx.errors.length === 0 ? { file, etcd, run, datacenters, ...ops } : null;
  return { inventory, errors: ctx.errors, warnings: ctx.warnings };
}

/** The setting keys of a mapping, plus `extra` keys the caller reads itself. */
function readLevel(ctx: Ctx, node: Node | null, path: string, extra: readonly string[]): RawSettings {
  const entries = readMap(ctx, node, path, [...SETTING_KEYS, ...extra], { ...NO_HOSTS_HERE, ...NO_CLUSTERS_HERE });
  return entries === undefined ? EMPTY_SETTINGS : readSettings(ctx, entries, path);
}

function checkName(ctx: Ctx, node: Node | null, path: string, name: string, what: string): void {
  if (!NAME.test(name))
    error(
      ctx,
      node,
      path,
      `${what} name ${JSON.stringify(name)} is not valid: use letters, digits, "_", "-" and "." (it becomes part of etcd keys)`,
    );
}

function readDatacenters(ctx: Ctx, node: Node | null, defaults: RawSettings): InventoryDatacenter[] {
  const dcs = readMap(ctx, node, 'datacenters', undefined);
  if (dcs === undefined) return [];
  if (dcs.size === 0) error(ctx, node, 'datacenters', 'expected at least one datacenter, got an empty mapping');
  const seen = new Map<string, string>();
  const out: InventoryDatacenter[] = [];
  for (const [dc, e] of dcs) {
    const path = join('datacenters', dc);
    checkName(ctx, e.key, path, dc, 'datacenter');
    const entries = readMap(ctx, e.value, path, [...SETTING_KEYS, 'clusters'], NO_HOSTS_HERE);
    if (entries === undefined) continue;
    const raw = mergeSettings(defaults, readSettings(ctx, entries, path));
    const clustersNode = entries.get('clusters')?.value ?? null;
    const clusters = isEmpty(clustersNode) ? undefined : readMap(ctx, clustersNode, join(path, 'clusters'), undefined);
    if (isEmpty(clustersNode) || clusters?.size === 0)
      error(ctx, clustersNode ?? e.key, join(path, 'clusters'), 'a datacenter needs at least one cluster');
    if (clusters === undefined || clusters.size === 0) continue;
    const list: InventoryCluster[] = [];
    for (const [name, c] of clusters) {
      const cpath = join(path, join('clusters', name));
      checkName(ctx, c.key, cpath, name, 'cluster');
      const cluster = readCluster(ctx, { dc, name, node: c.value, key: c.key, path: cpath, inherited: raw, seen });
      if (cluster !== undefined) list.push(cluster);
    }
    out.push({ name: dc, clusters: list });
  }
  return out;
}

interface ClusterInput {
  readonly dc: string;
  readonly name: string;
  readonly node: Node | null;
  readonly key: Node | null;
  readonly path: string;
  readonly inherited: RawSettings;
  readonly seen: Map<string, string>;
}

function readCluster(ctx: Ctx, input: ClusterInput): InventoryCluster | undefined {
  const { dc, name, path } = input;
  if (isEmpty(input.node)) {
    error(ctx, input.key, path, 'a cluster needs "hosts:" with at least one host');
    return undefined;
  }
  const entries = readMap(ctx, input.node, path, [...SETTING_KEYS, 'hosts'], NO_CLUSTERS_HERE);
  if (entries === undefined) return undefined;
  const raw = mergeSettings(input.inherited, readSettings(ctx, entries, path));
  const hostsEntry = entries.get('hosts');
  if (hostsEntry === undefined) {
    error(ctx, input.key, path, 'a cluster needs "hosts:" with at least one host');
    return undefined;
  }
  const drafts = readHosts(ctx, hostsEntry.value, join(path, 'hosts'), input.seen);
  const hosts = drafts.map((d) => toHost(ctx, d, raw, dc, name)).sort((a, b) => naturalCompare(a.name, b.name));
  const settings = resolveClusterSettings(ctx, raw, hosts.length);
  checkCanaryHosts(
    ctx,
    raw.top['canary'] as Located<CanarySettings> | undefined,
    hosts.map((h) => h.name),
  );
  const loc = position(ctx, input.key);
  const releaseUses = clusterReleaseUses(raw);
  return { dc, name, settings, hosts, source: loc, ...(releaseUses.length > 0 ? { releaseUses } : {}) };
}

function toHost(ctx: Ctx, d: HostDraft, clusterRaw: RawSettings, dc: string, cluster: string): InventoryHost {
  const raw = mergeSettings(clusterRaw, d.raw);
  const settings = resolveHostSettings(ctx, raw);
  const releaseUses = hostReleaseUses(raw);
  return {
    name: d.name,
    address: d.address,
    dc,
    cluster,
    settings,
    source: position(ctx, d.node),
    ...(releaseUses.length > 0 ? { releaseUses } : {}),
  };
}

function position(ctx: Ctx, node: Node | null): { file: string; line: number; col: number } {
  const parts = /:(\d+):(\d+)$/.exec(where(ctx, node));
  return { file: ctx.file, line: Number(parts?.[1] ?? 1), col: Number(parts?.[2] ?? 1) };
}
