// `canary:` of a cluster: the first batch, its soak and the gate that decides whether the rest goes.
import { isSeq, type Node } from 'yaml';
import { count, readValue, seconds, positiveSeconds, type Kind } from './fields.js';
import type { CanaryGateSettings, CanarySettings, HaproxyStatsGate } from './types.js';
import { error, expected, join, readMap, where, type Ctx, type Entry, type Located } from './yaml-nodes.js';

/** Placeholders a gate's command or URL may use (src/orchestrator/guards/canary-gate.ts fills them). */
export const GATE_VARS = ['dc', 'cluster', 'release', 'hosts', 'since', 'seconds'] as const;
const ratio: Kind = { t: 'number', min: 0, max: 1 };
const str: Kind = { t: 'string' };

function value<T>(ctx: Ctx, entries: Map<string, Entry>, path: string, key: string, kind: Kind): T | undefined {
  const e = entries.get(key);
  return e === undefined ? undefined : (readValue(ctx, e.value, join(path, key), kind) as T | undefined);
}

function checkPlaceholders(
  ctx: Ctx,
  node: Node | null,
  path: string,
  template: string,
  known: readonly string[],
): void {
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    if (!known.includes(m[1] ?? ''))
      error(
        ctx,
        node,
        path,
        `unknown placeholder {${m[1] ?? ''}} in "${template}" (known: ${known.map((n) => `{${n}}`).join(' ')})`,
      );
  }
}

function template(
  ctx: Ctx,
  entries: Map<string, Entry>,
  path: string,
  key: string,
  known: readonly string[],
): string | undefined {
  const text = value<string>(ctx, entries, path, key, str);
  if (text !== undefined) checkPlaceholders(ctx, entries.get(key)?.value ?? null, join(path, key), text, known);
  return text;
}

function readStatsGate(ctx: Ctx, node: Node | null, path: string): HaproxyStatsGate | undefined {
  const m = readMap(ctx, node, path, ['socket', 'url', 'backend', 'maxErrorRatio', 'maxIncrease', 'minRequests']);
  if (m === undefined) return undefined;
  const socket = value<string>(ctx, m, path, 'socket', str);
  const url = value<string>(ctx, m, path, 'url', str);
  if ((socket === undefined) === (url === undefined)) {
    error(
      ctx,
      node,
      path,
      'set exactly one of socket (the HAProxy runtime API, e.g. /run/haproxy/admin.sock) or url (the stats page CSV, e.g. http://lb1:8404/stats;csv)',
    );
  }
  if (url !== undefined && !/^https?:\/\//.test(url))
    error(ctx, m.get('url')?.value ?? null, join(path, 'url'), `expected an http(s) URL, got ${JSON.stringify(url)}`);
  return {
    socket,
    url,
    backend: template(ctx, m, path, 'backend', ['dc', 'cluster']) ?? '{dc}_{cluster}',
    maxErrorRatio: value<number>(ctx, m, path, 'maxErrorRatio', ratio) ?? 0.05,
    maxIncrease: value<number>(ctx, m, path, 'maxIncrease', ratio) ?? 0.02,
    minRequests: value<number>(ctx, m, path, 'minRequests', count(0)) ?? 10,
  };
}

function readGate(ctx: Ctx, node: Node | null, path: string): CanaryGateSettings | undefined {
  const m = readMap(ctx, node, path, ['haproxyStats', 'command', 'url', 'timeout']);
  if (m === undefined) return undefined;
  const stats = m.get('haproxyStats');
  const gate = {
    haproxyStats: stats === undefined ? undefined : readStatsGate(ctx, stats.value, join(path, 'haproxyStats')),
    command: template(ctx, m, path, 'command', GATE_VARS),
    url: template(ctx, m, path, 'url', GATE_VARS),
    timeoutSeconds: value<number>(ctx, m, path, 'timeout', positiveSeconds) ?? 30,
  };
  if (stats === undefined && gate.command === undefined && gate.url === undefined)
    error(ctx, node, path, 'a gate needs at least one of haproxyStats, command or url');
  return gate;
}

/** Reads `canary:`; undefined (errors recorded) when invalid. */
export function readCanary(ctx: Ctx, node: Node | null, path: string): Located<CanarySettings> | undefined {
  const m = readMap(ctx, node, path, ['batch', 'soakSeconds', 'gate']);
  if (m === undefined) return undefined;
  const batchNode = m.get('batch')?.value ?? null;
  let batch: CanarySettings['batch'] | undefined = { kind: 'count', value: 1 };
  if (isSeq(batchNode)) {
    const hosts = readValue(ctx, batchNode, join(path, 'batch'), { t: 'strings' }) as string[] | undefined;
    batch = hosts === undefined ? undefined : { kind: 'hosts', hosts };
  } else if (batchNode !== null) {
    const n = readValue(ctx, batchNode, join(path, 'batch'), count(1)) as number | undefined;
    batch = n === undefined ? undefined : { kind: 'count', value: n };
  }
  const soakSeconds = value<number>(ctx, m, path, 'soakSeconds', seconds) ?? 60;
  const gateEntry = m.get('gate');
  if (gateEntry === undefined) {
    expected(
      ctx,
      node,
      join(path, 'gate'),
      'a gate (haproxyStats, command or url): a canary nobody looks at is only a smaller first batch',
    );
    return undefined;
  }
  const gate = readGate(ctx, gateEntry.value, join(path, 'gate'));
  if (batch === undefined || gate === undefined) return undefined;
  return { value: { batch, soakSeconds, gate }, where: where(ctx, batchNode ?? node), path };
}

/** canary.batch names hosts of the cluster it stands in (a typo would silently canary nothing). */
export function checkCanaryHosts(
  ctx: Ctx,
  canary: Located<CanarySettings> | undefined,
  hosts: readonly string[],
): void {
  if (canary === undefined || canary.value.batch.kind !== 'hosts') return;
  for (const name of canary.value.batch.hosts) {
    if (!hosts.includes(name))
      ctx.errors.push(
        `${canary.where}: ${canary.path}.batch: ${name} is not a host of this cluster (its hosts: ${hosts.join(', ')})`,
      );
  }
}
