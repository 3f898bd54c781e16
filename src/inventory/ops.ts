// The `alerts:`, `notify:` and `metrics:` sections: how the rest of the ops stack hears of a run (global, top of the file).
import { isScalar, isSeq, type Node } from 'yaml';
import { parseMatcher } from '../alerts/matchers.js';
import { count, readValue, TEMPLATE_VARS, type Kind } from './fields.js';
import {
  NOTIFY_EVENTS,
  type AlertsSettings,
  type MetricsSettings,
  type NotifyEventName,
  type NotifySink,
} from './types.js';
import { deref, error, expected, isEmpty, join, readMap, type Ctx, type Entry } from './yaml-nodes.js';

const str: Kind = { t: 'string' };
const URL_RE = /^https?:\/\/[^/\s]+(\/\S*)?$/;
/** Run placeholders a silence comment may use besides the host's. */
export const COMMENT_VARS = ['runId', 'user', 'machine', 'command', 'reason'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const DEFAULT_MATCHERS = ['instance=~"{host}(:[0-9]+)?"'];
export const DEFAULT_COMMENT = 'rollout {runId} by {user}: {reason} ({host}, {cluster}@{dc})';
export const DEFAULT_NOTIFY_EVENTS: readonly NotifyEventName[] = ['run.started', 'run.finished', 'run.failed'];

/** `10m`, `90s`, `1h`, `1h30m` or a number of seconds. */
export function durationKind(min: number, max: number): Kind {
  return {
    t: 'custom',
    read: (ctx, node, path) => {
      const v = isScalar(node) ? node.value : undefined;
      const seconds = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : undefined;
      if (seconds === undefined || !Number.isFinite(seconds) || seconds < min || seconds > max)
        return expected(ctx, node, path, `a duration from ${min}s to ${max}s, like "10m", "90s" or 600`);
      return seconds;
    },
  };
}

function parseDuration(text: string): number | undefined {
  const m = /^\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$/.exec(text);
  if (!m || text.trim() === '' || (m[1] ?? m[2] ?? m[3]) === undefined) return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function value<T>(ctx: Ctx, m: Map<string, Entry>, path: string, key: string, kind: Kind): T | undefined {
  const e = m.get(key);
  return e === undefined ? undefined : (readValue(ctx, e.value, join(path, key), kind) as T | undefined);
}

function checkUrls(ctx: Ctx, node: Node | null, path: string, urls: readonly string[] | undefined): void {
  for (const url of urls ?? [])
    if (!URL_RE.test(url))
      error(ctx, node, path, `expected an http(s) URL like "http://alertmanager1:9093", got ${JSON.stringify(url)}`);
}

function checkPlaceholders(ctx: Ctx, node: Node | null, path: string, text: string, known: readonly string[]): void {
  for (const m of text.matchAll(/\{([A-Za-z]*)\}/g))
    if (!known.includes(m[1] ?? ''))
      error(
        ctx,
        node,
        path,
        `unknown placeholder {${m[1] ?? ''}} in ${JSON.stringify(text)} (known: ${known.map((n) => `{${n}}`).join(' ')})`,
      );
}

/** Reads `alerts:`; undefined when absent (no silences). */
export function readAlerts(ctx: Ctx, node: Node | null): AlertsSettings | undefined {
  if (isEmpty(node)) return undefined;
  const m = readMap(ctx, node, 'alerts', ['required', 'alertmanager']);
  if (m === undefined) return undefined;
  const amEntry = m.get('alertmanager');
  if (amEntry === undefined) {
    error(ctx, node, 'alerts.alertmanager', 'missing: alerts needs alertmanager: { urls: [...] }');
    return undefined;
  }
  const path = 'alerts.alertmanager';
  const am = readMap(ctx, amEntry.value, path, [
    'urls',
    'matchers',
    'ttl',
    'comment',
    'ca',
    'bearerTokenEnv',
    'timeout',
  ]);
  if (am === undefined) return undefined;
  const urls = value<string[]>(ctx, am, path, 'urls', { t: 'strings' });
  if (am.get('urls') === undefined)
    error(ctx, amEntry.value, join(path, 'urls'), 'missing: the Alertmanager URLs, e.g. ["http://alertmanager1:9093"]');
  checkUrls(ctx, am.get('urls')?.value ?? null, join(path, 'urls'), urls);
  const matchers = value<string[]>(ctx, am, path, 'matchers', { t: 'strings' }) ?? DEFAULT_MATCHERS;
  const matcherNode = am.get('matchers')?.value ?? null;
  matchers.forEach((text, i) => {
    const item = isSeq(matcherNode) ? deref(ctx, matcherNode.items[i]) : matcherNode;
    const at = join(join(path, 'matchers'), `[${i}]`);
    if (parseMatcher(text) === undefined)
      error(
        ctx,
        item,
        at,
        `expected a matcher like 'instance=~"{host}(:[0-9]+)?"' (name, one of = != =~ !~, a quoted value), got ${JSON.stringify(text)}`,
      );
    else checkPlaceholders(ctx, item, at, text, TEMPLATE_VARS);
  });
  const comment = value<string>(ctx, am, path, 'comment', str) ?? DEFAULT_COMMENT;
  checkPlaceholders(ctx, am.get('comment')?.value ?? null, join(path, 'comment'), comment, [
    ...TEMPLATE_VARS,
    ...COMMENT_VARS,
  ]);
  const bearerTokenEnv = value<string>(ctx, am, path, 'bearerTokenEnv', str);
  if (bearerTokenEnv !== undefined && !ENV_NAME.test(bearerTokenEnv))
    error(
      ctx,
      am.get('bearerTokenEnv')?.value ?? null,
      join(path, 'bearerTokenEnv'),
      `expected the name of an environment variable, got ${JSON.stringify(bearerTokenEnv)}`,
    );
  return {
    required: value<boolean>(ctx, m, 'alerts', 'required', { t: 'bool' }) ?? true,
    alertmanager: {
      urls: urls ?? [],
      matchers,
      ttlSeconds: value<number>(ctx, am, path, 'ttl', durationKind(10, 86_400)) ?? 600,
      comment,
      ca: value<string>(ctx, am, path, 'ca', str),
      bearerTokenEnv,
      timeoutSeconds: value<number>(ctx, am, path, 'timeout', durationKind(1, 300)) ?? 10,
    },
  };
}

function readEvents(ctx: Ctx, node: Node | null, path: string): NotifyEventName[] | undefined {
  const names = readValue(ctx, node, path, { t: 'strings' }) as string[] | undefined;
  if (names === undefined) return undefined;
  const bad = names.filter((n) => !(NOTIFY_EVENTS as readonly string[]).includes(n));
  if (bad.length > 0) {
    error(ctx, node, path, `unknown event(s) ${bad.join(', ')} (known: ${NOTIFY_EVENTS.join(', ')})`);
    return undefined;
  }
  return names as NotifyEventName[];
}

function readHeaders(ctx: Ctx, node: Node | null, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, e] of readMap(ctx, node, path, undefined) ?? []) {
    const env = readValue(ctx, e.value, join(path, name), str) as string | undefined;
    if (env !== undefined && !ENV_NAME.test(env))
      error(
        ctx,
        e.value,
        join(path, name),
        `expected the name of the environment variable holding the header's value, got ${JSON.stringify(env)}`,
      );
    else if (env !== undefined) out[name] = env;
  }
  return out;
}

function readSink(ctx: Ctx, node: Node | null, path: string): NotifySink | undefined {
  const m = readMap(ctx, node, path, ['webhook', 'command', 'events', 'timeout', 'retries', 'headers', 'text', 'ca']);
  if (m === undefined) return undefined;
  const common = {
    name: path,
    events:
      (m.has('events') ? readEvents(ctx, m.get('events')?.value ?? null, join(path, 'events')) : undefined) ??
      DEFAULT_NOTIFY_EVENTS,
    timeoutSeconds: value<number>(ctx, m, path, 'timeout', durationKind(1, 600)) ?? 10,
    retries: value<number>(ctx, m, path, 'retries', count(0, 10)) ?? 2,
  };
  const url = value<string>(ctx, m, path, 'webhook', str);
  const command = value<string>(ctx, m, path, 'command', str);
  if ((url === undefined) === (command === undefined)) {
    error(ctx, node, path, 'a sink is either webhook: URL or command: PROGRAM (exactly one of them)');
    return undefined;
  }
  if (command !== undefined) {
    for (const key of ['headers', 'text', 'ca'])
      if (m.has(key)) error(ctx, m.get(key)?.key ?? null, join(path, key), `${key} is for webhook sinks only`);
    return { ...common, kind: 'command', command };
  }
  if (url !== undefined && !URL_RE.test(url))
    error(
      ctx,
      m.get('webhook')?.value ?? null,
      join(path, 'webhook'),
      `expected an http(s) URL, got ${JSON.stringify(url)}`,
    );
  return {
    ...common,
    kind: 'webhook',
    url: url ?? '',
    headersEnv: m.has('headers') ? readHeaders(ctx, m.get('headers')?.value ?? null, join(path, 'headers')) : {},
    text: value<boolean>(ctx, m, path, 'text', { t: 'bool' }) ?? false,
    ca: value<string>(ctx, m, path, 'ca', str),
  };
}

/** Reads `notify:`, a list of sinks; undefined when absent. */
export function readNotify(ctx: Ctx, node: Node | null): NotifySink[] | undefined {
  if (isEmpty(node)) return undefined;
  if (!isSeq(node)) return expected(ctx, node, 'notify', 'a list of sinks (- webhook: URL, or - command: PROGRAM)');
  const out: NotifySink[] = [];
  node.items.forEach((raw, i) => {
    const sink = readSink(ctx, deref(ctx, raw), `notify[${i}]`);
    if (sink !== undefined) out.push(sink);
  });
  return out;
}

/** Reads `metrics:`; undefined when absent. */
export function readMetrics(ctx: Ctx, node: Node | null): MetricsSettings | undefined {
  if (isEmpty(node)) return undefined;
  const m = readMap(ctx, node, 'metrics', ['textfile', 'pushgateway', 'timeout']);
  if (m === undefined) return undefined;
  const pushgateway = value<string>(ctx, m, 'metrics', 'pushgateway', str);
  if (pushgateway !== undefined && !URL_RE.test(pushgateway))
    error(
      ctx,
      m.get('pushgateway')?.value ?? null,
      'metrics.pushgateway',
      `expected an http(s) URL like "http://pushgateway:9091", got ${JSON.stringify(pushgateway)}`,
    );
  const textfile = value<string>(ctx, m, 'metrics', 'textfile', str);
  if (textfile === undefined && pushgateway === undefined)
    error(ctx, node, 'metrics', 'set textfile: DIR (node_exporter textfile collector) or pushgateway: URL, or both');
  return {
    textfile,
    pushgateway,
    timeoutSeconds: value<number>(ctx, m, 'metrics', 'timeout', durationKind(1, 300)) ?? 10,
  };
}
