// Settings as written at one level (defaults, datacenter, cluster or host), before merging.
import type { Node } from 'yaml';
import { readBatchSizes, readAmount, FRACTION_RULE } from './amount.js';
import { readCanary } from './canary.js';
import { count, positiveSeconds, readLocated, readValue, seconds, type Kind } from './fields.js';
import { PYBAL_KIND } from './lb-fields.js';
import { parseJumpHost } from '../transport/jump.js';
import { DUAL_MASTER_KIND, OPCACHE_KIND } from './strategy-fields.js';
import { error, isEmpty, join, readMap, where, type Ctx, type Entry, type Located } from './yaml-nodes.js';

/** One field of a settings group: its YAML key, the field of src/inventory/types.ts, its kind. */
interface FieldSpec {
  readonly yaml: string;
  readonly field: string;
  readonly kind: Kind;
}

const str: Kind = { t: 'string' };
/** A segment of an etcd key: what dc, cluster and service names may hold. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const template: Kind = { t: 'template' };
/** Drain and opcache templates run before the restart: {release} has no value there. */
const earlyTemplate: Kind = { t: 'template', without: ['release'] };
const BATCH_MODE: Kind = { t: 'enum', values: ['window', 'barrier'] };
const f = (yaml: string, kind: Kind, field = yaml): FieldSpec => ({ yaml, field, kind });

/** `ssh.jumpHost`, parsed as the transport will parse it, so a bad one is refused at load time with its line. */
const jumpHost: Kind = {
  t: 'custom',
  read: (ctx, node, path) => {
    const spec = readValue(ctx, node, path, str) as string | undefined;
    if (spec === undefined) return undefined;
    try {
      parseJumpHost(spec, 'user', 'inventory');
      return spec;
    } catch {
      error(
        ctx,
        node,
        path,
        `expected "user@host:port", "user@host", "host:port" or "host" (IPv6 as "[::1]:22"), got ${JSON.stringify(spec)}`,
      );
      return undefined;
    }
  },
};

/** Every settings group, with the YAML names (seconds are `…Seconds` fields in the types). */
export const GROUPS = {
  ssh: [
    f('user', str),
    f('port', count(1, 65535)),
    f('identityFile', str),
    f('knownHosts', str),
    f('jumpHost', jumpHost),
    f('connectTimeout', positiveSeconds, 'connectTimeoutSeconds'),
    f('acceptNewHostKeys', { t: 'bool' }),
  ],
  restart: [
    f('command', template),
    f('emergencyCommand', template),
    f('timeout', positiveSeconds, 'timeoutSeconds'),
    f('strategy', { t: 'enum', values: ['rolling', 'dual-master'] }),
    f('dualMaster', DUAL_MASTER_KIND),
    f('opcache', OPCACHE_KIND),
  ],
  drain: [
    f('mode', { t: 'enum', values: ['status', 'fixed'] }),
    f('seconds', seconds),
    f('timeout', positiveSeconds, 'timeoutSeconds'),
    f('statusUrl', earlyTemplate),
    f('statusCommand', earlyTemplate),
    f('interval', positiveSeconds, 'intervalSeconds'),
  ],
  health: [
    f('type', { t: 'enum', values: ['http', 'command'] }),
    f('url', template),
    f('command', template),
    f('expectStatus', count(100, 599)),
    f('expectBody', str),
    f('releaseHeader', str),
    f('releaseField', str),
    f('attempts', count(1)),
    f('interval', seconds, 'intervalSeconds'),
    f('timeout', positiveSeconds, 'timeoutSeconds'),
    f('requestTimeout', positiveSeconds, 'requestTimeoutSeconds'),
    f('minHealthySeconds', seconds),
  ],
  lb: [
    f('propagationSeconds', seconds),
    f('confirmTimeout', positiveSeconds, 'confirmTimeoutSeconds'),
    f('requireAgents', { t: 'bool' }),
    f('confirm', { t: 'enum', values: ['agents', 'pybal', 'none'] }),
    f('pybal', PYBAL_KIND),
  ],
} as const satisfies Record<string, readonly FieldSpec[]>;

export type GroupName = keyof typeof GROUPS;
export const GROUP_NAMES = Object.keys(GROUPS) as GroupName[];

type Fields = Readonly<Record<string, Located<unknown>>>;

/** Settings written at one level; absent fields fall through to the level above. */
export interface RawSettings {
  /** services (from `service` or `services`), weight, batch, minPooled, failureBudget. */
  readonly top: Fields;
  readonly groups: Readonly<Record<GroupName, Fields>>;
}

export const HOST_SETTING_KEYS: readonly string[] = ['service', 'services', 'weight', ...GROUP_NAMES];
export const CLUSTER_ONLY_KEYS: readonly string[] = ['batch', 'minPooled', 'failureBudget', 'canary'];
export const SETTING_KEYS: readonly string[] = [...HOST_SETTING_KEYS, ...CLUSTER_ONLY_KEYS];

/** Why a cluster-only key may not stand on a host (reported instead of "unknown key"). */
export const HOST_MISPLACED: Readonly<Record<string, string>> = Object.fromEntries(
  CLUSTER_ONLY_KEYS.map((k) => [
    k,
    `"${k}" is a cluster setting and cannot be set on one host; set it on the cluster, its datacenter or in defaults`,
  ]),
);

export const EMPTY_SETTINGS: RawSettings = { top: {}, groups: { ssh: {}, restart: {}, drain: {}, health: {}, lb: {} } };

/**
 * `service: apache2` or `services: [apache2, nginx]`, kept as one `services` list so the nearest
 * level wins whichever spelling it uses. Each name is a segment of a pool key.
 */
function readServices(
  ctx: Ctx,
  entries: Map<string, Entry>,
  path: string,
  put: (key: string, node: Node | null, value: unknown) => void,
): void {
  const one = entries.get('service');
  const many = entries.get('services');
  if (one && many) {
    error(ctx, many.value, join(path, 'services'), 'give service (one pool) or services (a list), not both');
    return;
  }
  const entry = one ?? many;
  if (!entry) return;
  const key = one ? 'service' : 'services';
  const names = readLocated<string | string[]>(ctx, entry.value, join(path, key), one ? str : { t: 'strings' })?.value;
  if (names === undefined) return;
  const list = typeof names === 'string' ? [names] : names;
  // Why: the service is a segment of every pool key; a "/" in it makes keys the LB agents never read.
  const bad = list.find((name) => !SEGMENT.test(name));
  if (bad !== undefined)
    return error(
      ctx,
      entry.value,
      join(path, key),
      `service name ${JSON.stringify(bad)} is not valid: use letters, digits, "_", "-" and "." (it becomes a segment of the pool keys)`,
    );
  const twice = list.find((name, i) => list.indexOf(name) !== i);
  if (twice !== undefined)
    return error(ctx, entry.value, join(path, key), `service ${JSON.stringify(twice)} is listed twice`);
  put('services', entry.value, list);
}

/** Reads the setting keys among `entries` (other keys are the caller's business). */
export function readSettings(ctx: Ctx, entries: Map<string, Entry>, path: string): RawSettings {
  const top: Record<string, Located<unknown>> = {};
  const put = (key: string, node: Node | null, value: unknown): void => {
    if (value !== undefined) top[key] = { value, where: where(ctx, node), path: join(path, key) };
  };
  readServices(ctx, entries, path, put);
  const weight = entries.get('weight');
  if (weight) put('weight', weight.value, readLocated(ctx, weight.value, join(path, 'weight'), count(0))?.value);
  for (const key of ['minPooled', 'failureBudget']) {
    const e = entries.get(key);
    if (e && !isEmpty(e.value)) put(key, e.value, readAmount(ctx, e.value, join(path, key), FRACTION_RULE));
  }
  const batch = entries.get('batch');
  if (batch && !isEmpty(batch.value)) {
    const m = readMap(ctx, batch.value, join(path, 'batch'), ['size', 'mode']);
    const size = m?.get('size');
    if (size) put('batch', size.value, readBatchSizes(ctx, size.value, join(path, 'batch.size')));
    const mode = m?.get('mode');
    if (mode) put('batchMode', mode.value, readValue(ctx, mode.value, join(path, 'batch.mode'), BATCH_MODE));
  }
  const canary = entries.get('canary');
  if (canary && !isEmpty(canary.value)) {
    const read = readCanary(ctx, canary.value, join(path, 'canary'));
    if (read) top['canary'] = read;
  }
  const groups = { ...EMPTY_SETTINGS.groups };
  for (const name of GROUP_NAMES) {
    const e = entries.get(name);
    if (e) groups[name] = readGroup(ctx, e.value, join(path, name), GROUPS[name]);
  }
  return { top, groups };
}

function readGroup(ctx: Ctx, node: Node | null, path: string, specs: readonly FieldSpec[]): Fields {
  const out: Record<string, Located<unknown>> = {};
  if (isEmpty(node)) return out;
  const entries = readMap(
    ctx,
    node,
    path,
    specs.map((s) => s.yaml),
  );
  if (entries === undefined) return out;
  for (const spec of specs) {
    const e = entries.get(spec.yaml);
    const v = e === undefined ? undefined : readLocated(ctx, e.value, join(path, spec.yaml), spec.kind);
    if (v !== undefined) out[spec.field] = v;
  }
  return out;
}

/** `b` over `a`, per field inside each group (nearest level wins). */
export function mergeSettings(a: RawSettings, b: RawSettings): RawSettings {
  const groups = { ...a.groups };
  for (const name of GROUP_NAMES) groups[name] = { ...a.groups[name], ...b.groups[name] };
  return { top: { ...a.top, ...b.top }, groups };
}
