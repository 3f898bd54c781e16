// The `etcd:` and `run:` sections: global, so they may stand only at the top of the file.
import { isMap, isScalar, type Node } from 'yaml';
import { DURATION_HINT, parseDuration } from '../duration.js';
import { ROLLOUT_PREFIX } from '../keyspace.js';
import { DEFAULT_ETCD, DEFAULT_RUN } from './defaults.js';
import { count, positiveSeconds, readValue, seconds, type Kind } from './fields.js';
import type { EtcdSettings, RunSettings } from './types.js';
import { error, expected, isEmpty, join, readMap, type Ctx } from './yaml-nodes.js';

const str: Kind = { t: 'string' };

/** `45m`, `90s`, `1h30m`: kept with the text the operator wrote, for messages. */
const DURATION: Kind = {
  t: 'custom',
  read: (ctx, node, path) => {
    const text = isScalar(node) ? node.value : undefined;
    const ms = typeof text === 'string' ? parseDuration(text) : undefined;
    return ms === undefined ? expected(ctx, node, path, DURATION_HINT) : { ms, text };
  },
};

/** YAML key → [field, kind]. */
const ETCD: Readonly<Record<string, readonly [keyof EtcdSettings, Kind]>> = {
  endpoints: ['endpoints', { t: 'strings' }],
  prefix: ['prefix', str],
  dialTimeout: ['dialTimeoutSeconds', positiveSeconds],
  ca: ['ca', str],
  cert: ['cert', str],
  key: ['key', str],
  username: ['username', str],
  passwordEnv: ['passwordEnv', str],
  poolApi: ['poolApi', { t: 'enum', values: ['v3', 'v2'] }],
};

const RUN: Readonly<Record<string, readonly [keyof RunSettings, Kind]>> = {
  failureBudget: ['failureBudget', count(0)],
  parallelClusters: ['parallelClusters', count(1)],
  sshConcurrency: ['sshConcurrency', count(1)],
  capacityWait: ['capacityWaitSeconds', seconds],
  maxConcurrentRestarts: ['maxConcurrentRestarts', count(1)],
  restartSlotScope: [
    'restartSlotScope',
    { t: 'enum', values: ['datacenter-service', 'datacenter-cluster', 'service'] },
  ],
  deadline: ['deadline', DURATION],
  pace: ['pace', DURATION],
  askOnFailure: ['askOnFailure', { t: 'bool' }],
};

function readSection<T extends object>(
  ctx: Ctx,
  node: Node | null,
  path: string,
  spec: Readonly<Record<string, readonly [keyof T, Kind]>>,
  defaults: T,
): T {
  const out = { ...defaults } as Record<string, unknown>;
  if (isEmpty(node)) return defaults;
  const entries = readMap(ctx, node, path, Object.keys(spec));
  for (const [key, e] of entries ?? []) {
    const s = spec[key];
    const v = s === undefined ? undefined : readValue(ctx, e.value, join(path, key), s[1]);
    if (s !== undefined && v !== undefined) out[s[0] as string] = v;
  }
  return out as T;
}

export function readEtcd(ctx: Ctx, node: Node | null): EtcdSettings {
  const etcd = readSection(ctx, node, 'etcd', ETCD, DEFAULT_ETCD);
  etcd.endpoints.forEach((endpoint) => {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
      error(
        ctx,
        node,
        'etcd.endpoints',
        `expected URLs like "https://etcd1.example.org:2379", got ${JSON.stringify(endpoint)}`,
      );
    }
  });
  if (!etcd.prefix.startsWith('/'))
    error(
      ctx,
      node,
      'etcd.prefix',
      `expected an absolute key prefix like "/conftool/v1/pools", got ${JSON.stringify(etcd.prefix)}`,
    );
  // Why: a pool prefix over rollout's own keys would let pool writes and listings touch locks and journals.
  const ours = ROLLOUT_PREFIX.replace(/\/v1\/$/, '/');
  const asDir = `${etcd.prefix.replace(/\/+$/, '')}/`;
  if (etcd.prefix.startsWith('/') && (asDir.startsWith(ours) || ours.startsWith(asDir)))
    error(
      ctx,
      isMap(node) ? (node.get('prefix', true) as Node | undefined) : node,
      'etcd.prefix',
      `${JSON.stringify(etcd.prefix)} overlaps ${ours}, where rollout keeps its own keys (locks, journals); use conftool's prefix, e.g. "/conftool/v1/pools"`,
    );
  if ((etcd.cert === undefined) !== (etcd.key === undefined))
    error(ctx, node, 'etcd.cert', 'a client certificate needs both etcd.cert and etcd.key');
  return etcd;
}

export function readRun(ctx: Ctx, node: Node | null): RunSettings {
  return readSection(ctx, node, 'run', RUN, DEFAULT_RUN);
}
