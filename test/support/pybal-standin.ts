/**
 * A stand-in for PyBal 1.15's instrumentation API, for tests. Real PyBal needs Python 2.7 and
 * Twisted 20.3, which Debian 12 does not ship, so rollout is tested against this instead (see
 * docs/lb-agent.md "PyBal"). It follows conftool's pool keys of one datacenter like PyBal does (a
 * list, then a watch: etcd v2 long-polls through createV2PoolFeed, or v3, or the memory Kv) and
 * answers as PyBal's instrumentation.py does:
 * - JSON only when one Accept header is exactly `application/json` (wantJson), else the text form;
 * - `/pools`, `/pools/<pool>` (every host), `/pools/<pool>/<host>`; 404 for an unknown pool or host;
 * - `inactive` or deleted in conftool: gone from the pool (404);
 * - `enabled` follows conftool's `pooled`; LVS `pooled` needs enabled and up, except that the
 *   depool threshold keeps a disabled host pooled while depooling it would leave fewer than
 *   threshold × hosts pooled (PyBal's canDepool), and depools it once others come back.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PoolFeed } from '../../src/pool/etcd-v2-watch.js';
import type { Watch } from '../../src/kv/kv.js';

interface Server {
  enabled: boolean;
  up: boolean;
  pooled: boolean;
  weight: number;
}

export interface PybalStandinOptions {
  readonly feed: PoolFeed;
  /** conftool's prefix, e.g. /conftool/v1/pools. */
  readonly prefix: string;
  /** The datacenter this PyBal balances. */
  readonly dc: string;
  /** PyBal's depool-threshold; 0 never keeps a disabled host (the default here, so tests opt in). */
  readonly depoolThreshold?: number;
  /** The PyBal pool of a conftool service; default: the service's own name. */
  readonly poolOf?: (cluster: string, service: string) => string;
  readonly host?: string;
  readonly port?: number;
}

export interface PybalStandin {
  readonly url: string;
  /** Requests per path (`/pools/apache2`), to count polls. */
  readonly requests: Map<string, number>;
  /** TCP connections accepted, to see keep-alive at work. */
  connections(): number;
  setThreshold(threshold: number): void;
  /** PyBal's own monitor: a host that is down is not pooled even when enabled. */
  setUp(pool: string, host: string, up: boolean): void;
  state(pool: string, host: string): Readonly<Server> | undefined;
  /** Resolves once the stand-in has seen every pool key under the prefix at `revision` or later. */
  caughtUp(revision: number): Promise<void>;
  close(): Promise<void>;
}

function textStatus(s: Server): string {
  return `${s.enabled ? 'enabled' : 'disabled'}/${s.up ? 'up' : 'down'}/${s.pooled ? 'pooled' : 'not pooled'}`;
}

function dumpState(s: Server): object {
  return { pooled: s.pooled, weight: s.weight, up: s.up, enabled: s.enabled };
}

export async function startPybalStandin(options: PybalStandinOptions): Promise<PybalStandin> {
  const pools = new Map<string, Map<string, Server>>();
  const requests = new Map<string, number>();
  const downs = new Set<string>();
  let threshold = options.depoolThreshold ?? 0;
  let seen = 0;
  let connections = 0;
  const head = `${options.prefix.replace(/\/+$/, '')}/${options.dc}/`;
  const poolOf = options.poolOf ?? ((_cluster: string, service: string) => service);

  /** PyBal's canDepool: keeps a disabled host pooled while too few would be left. */
  function settle(pool: Map<string, Server>): void {
    for (const s of pool.values()) if (s.enabled && s.up) s.pooled = true;
    for (const s of pool.values()) {
      if (!s.pooled || (s.enabled && s.up)) continue;
      const pooled = [...pool.values()].filter((x) => x.pooled).length;
      if (pooled - 1 >= pool.size * threshold) s.pooled = false;
    }
  }

  function apply(key: string, value: string | undefined, revision: number): void {
    seen = Math.max(seen, revision);
    if (!key.startsWith(head)) return;
    const parts = key.slice(head.length).split('/');
    if (parts.length !== 3) return;
    const [cluster, service, host] = parts as [string, string, string];
    const name = poolOf(cluster, service);
    const pool = pools.get(name) ?? new Map<string, Server>();
    pools.set(name, pool);
    let parsed: { pooled?: unknown; weight?: unknown } | undefined;
    try {
      parsed = value === undefined ? undefined : (JSON.parse(value) as typeof parsed);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.pooled === 'inactive') pool.delete(host);
    else {
      const server = pool.get(host) ?? { enabled: false, up: !downs.has(`${name}/${host}`), pooled: false, weight: 0 };
      server.enabled = parsed.pooled === 'yes';
      server.weight = typeof parsed.weight === 'number' ? parsed.weight : 0;
      pool.set(host, server);
    }
    settle(pool);
  }

  let watch: Watch | undefined;
  let closed = false;
  async function follow(): Promise<void> {
    const revision = await options.feed.revision();
    const entries = await options.feed.list(head);
    for (const pool of pools.values()) pool.clear();
    for (const entry of entries) apply(entry.key, entry.value, entry.modRevision);
    seen = Math.max(seen, revision);
    watch = await options.feed.watch(head, revision, {
      onEvent: (event) =>
        event.type === 'put'
          ? apply(event.entry.key, event.entry.value, event.entry.modRevision)
          : apply(event.key, undefined, event.modRevision),
      onResync: () => {
        if (closed) return;
        void watch?.close().catch(() => undefined);
        void follow().catch(() => undefined);
      },
    });
  }
  await follow();

  const send = (res: http.ServerResponse, status: number, json: boolean, body: unknown, text: string): void => {
    res.writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain' });
    res.end(json ? JSON.stringify(body) : text);
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    // Why: PyBal's wantJson() asks whether one raw Accept header is exactly application/json.
    const json = (req.headersDistinct['accept'] ?? []).includes('application/json');
    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const notFound = (): void =>
      send(
        res,
        404,
        json,
        { error: `The desired url ${req.url} was not found` },
        `The desired url ${req.url} was not found`,
      );
    if (parts[0] !== 'pools') return notFound();
    if (parts.length === 1) return send(res, 200, json, [...pools.keys()], `${[...pools.keys()].join('\n')}\n`);
    const pool = pools.get(parts[1] ?? '');
    if (pool === undefined) return notFound();
    if (parts.length === 2) {
      const all = Object.fromEntries([...pool].map(([h, s]) => [h, dumpState(s)]));
      return send(res, 200, json, all, [...pool].map(([h, s]) => `${h}:\t${textStatus(s)}\n`).join(''));
    }
    const one = parts.length === 3 ? pool.get(parts[2] ?? '') : undefined;
    if (one === undefined) return notFound();
    send(res, 200, json, dumpState(one), `${textStatus(one)}\n`);
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    requests,
    connections: () => connections,
    setThreshold(value) {
      threshold = value;
      for (const pool of pools.values()) settle(pool);
    },
    setUp(pool, host, up) {
      if (up) downs.delete(`${pool}/${host}`);
      else downs.add(`${pool}/${host}`);
      const p = pools.get(pool);
      const s = p?.get(host);
      if (p === undefined || s === undefined) return;
      s.up = up;
      settle(p);
    },
    state: (pool, host) => pools.get(pool)?.get(host),
    async caughtUp(revision) {
      for (let i = 0; i < 500 && seen < revision; i++) await new Promise((r) => setTimeout(r, 10));
      if (seen < revision) throw new Error(`the PyBal stand-in did not see revision ${revision} (saw ${seen})`);
    },
    async close() {
      closed = true;
      await watch?.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
