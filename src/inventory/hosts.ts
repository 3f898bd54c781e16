// The `hosts:` list of a cluster: nodesets and host objects, DNS-checked, each host listed once.
import { isIP } from 'node:net';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { expandNodeset } from './nodeset.js';
import { readValue, count } from './fields.js';
import { EMPTY_SETTINGS, HOST_MISPLACED, HOST_SETTING_KEYS, readSettings, type RawSettings } from './settings.js';
import { deref, describe, error, expected, isEmpty, join, readMap, where, type Ctx } from './yaml-nodes.js';

/** A host as written, before its settings are merged with its cluster's. */
export interface HostDraft {
  readonly name: string;
  readonly address: string;
  readonly raw: RawSettings;
  readonly node: Node;
  readonly path: string;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** A host name that is safe in a shell, a URL and an etcd key: letters, digits, `-` and `.` labels. */
export function isDnsName(name: string): boolean {
  return name.length <= 253 && DNS_NAME.test(name);
}

/** Records an error and yields no host. */
function fail(ctx: Ctx, node: Node | null, path: string, message: string): HostDraft[] {
  error(ctx, node, path, message);
  return [];
}

const HOST_KEYS = ['name', 'address', 'port', ...HOST_SETTING_KEYS];

/** Reads one cluster's hosts; `seen` maps every host name met so far to where it was written. */
export function readHosts(ctx: Ctx, node: Node | null, path: string, seen: Map<string, string>): HostDraft[] {
  if (isEmpty(node) || (isSeq(node) && node.items.length === 0)) {
    error(
      ctx,
      node,
      path,
      'a cluster needs at least one host; list them here (names or nodesets like "mw[1001-1020].eqiad.wmnet")',
    );
    return [];
  }
  if (!isSeq(node))
    return fail(
      ctx,
      node,
      path,
      `expected a list of host names, nodesets or { name: … } objects, got ${describe(node)}`,
    );
  const out: HostDraft[] = [];
  node.items.forEach((raw, i) => {
    const item = deref(ctx, raw);
    const itemPath = join(path, `[${i}]`);
    if (item === null) {
      expected(ctx, item, itemPath, 'a host name');
      return;
    }
    const drafts = isMap(item)
      ? readHostObject(ctx, item, itemPath)
      : readHostNames(ctx, item, itemPath, undefined, EMPTY_SETTINGS);
    for (const d of drafts) {
      // DNS names are case-insensitive: MW1 and mw1 are the same machine.
      const first = seen.get(d.name.toLowerCase());
      if (first !== undefined)
        error(ctx, d.node, itemPath, `host "${d.name}" is listed twice: here and at ${first}; list each host once`);
      else {
        seen.set(d.name.toLowerCase(), where(ctx, d.node));
        out.push(d);
      }
    }
  });
  return out;
}

function readHostNames(ctx: Ctx, node: Node, path: string, address: string | undefined, raw: RawSettings): HostDraft[] {
  if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') {
    return fail(
      ctx,
      node,
      path,
      `expected a host name or a nodeset like "mw[1001-1020].eqiad.wmnet", got ${describe(node)}`,
    );
  }
  const pattern = node.value;
  const expanded = expandNodeset(pattern);
  if ('error' in expanded) return fail(ctx, node, path, `malformed nodeset "${pattern}": ${expanded.error}`);
  const bad = expanded.hosts.find((h) => !isDnsName(h));
  if (bad !== undefined) {
    const what = bad === pattern ? `"${bad}"` : `"${bad}" (from "${pattern}")`;
    return fail(ctx, node, path, `${what} is not a valid host name: use letters, digits, "-" and "." only`);
  }
  if (address !== undefined && expanded.hosts.length > 1) {
    return fail(
      ctx,
      node,
      path,
      `"${pattern}" names ${expanded.hosts.length} hosts but has one address; give each host its own entry`,
    );
  }
  return expanded.hosts.map((name) => ({ name, address: address ?? name, raw, node, path }));
}

function readHostObject(ctx: Ctx, node: Node, path: string): HostDraft[] {
  const entries = readMap(ctx, node, path, HOST_KEYS, HOST_MISPLACED);
  if (entries === undefined) return [];
  const name = entries.get('name');
  if (name === undefined) return fail(ctx, node, path, 'a host object needs "name"');
  let address: string | undefined;
  const a = entries.get('address');
  if (a !== undefined) {
    const v = readValue(ctx, a.value, join(path, 'address'), { t: 'string' });
    if (typeof v === 'string' && isIP(v) === 0 && !isDnsName(v)) {
      error(ctx, a.value, join(path, 'address'), `expected an IP address or a DNS name, got ${JSON.stringify(v)}`);
    } else if (typeof v === 'string') address = v;
  }
  let raw = readSettings(ctx, entries, path);
  const port = entries.get('port');
  if (port !== undefined) {
    const v = readValue(ctx, port.value, join(path, 'port'), count(1, 65535));
    if (raw.groups.ssh['port'] !== undefined)
      error(
        ctx,
        port.key,
        join(path, 'port'),
        'both "port" and "ssh.port" are set; keep one ("port" is short for ssh.port)',
      );
    else if (v !== undefined) {
      const ssh = { ...raw.groups.ssh, port: { value: v, where: where(ctx, port.value), path: join(path, 'port') } };
      raw = { ...raw, groups: { ...raw.groups, ssh } };
    }
  }
  return name.value === null ? [] : readHostNames(ctx, name.value, join(path, 'name'), address, raw);
}
