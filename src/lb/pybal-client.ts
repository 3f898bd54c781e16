import http from 'node:http';
import { describeHttpError, httpRequest } from '../net/request.js';

/** What one PyBal says of one host of a pool (its `dumpState()`). */
export interface PybalHostState {
  readonly enabled: boolean;
  readonly pooled: boolean;
  readonly up: boolean;
}

/** One look at a PyBal pool: every host it knows, or why there is no answer. */
export type PybalPoolAnswer =
  | { readonly ok: true; readonly hosts: ReadonlyMap<string, PybalHostState> }
  | { readonly ok: false; readonly error: string };

/** `http://lvs1001:9090/pools/apache2`: the URL of a PyBal pool, for requests and messages. */
export function pybalPoolUrl(base: string, pool: string): string {
  return `${base.replace(/\/+$/, '')}/pools/${encodeURIComponent(pool)}`;
}

function parsePool(text: string): ReadonlyMap<string, PybalHostState> | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON (${JSON.stringify(text.slice(0, 60))}): is this PyBal's instrumentation port?`;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'expected a JSON object of hosts';
  const hosts = new Map<string, PybalHostState>();
  for (const [host, raw] of Object.entries(body as Record<string, unknown>)) {
    const s = raw as Record<string, unknown> | null;
    if (typeof s?.enabled !== 'boolean' || typeof s.pooled !== 'boolean')
      return `host ${host}: expected {"enabled": bool, "pooled": bool, …}, got ${JSON.stringify(raw)}`;
    hosts.set(host, { enabled: s.enabled, pooled: s.pooled, up: s.up === true });
  }
  return hosts;
}

/** Reads PyBal pools over keep-alive connections: one connection per PyBal, reused every tick. */
export interface PybalClient {
  pool(base: string, pool: string, timeoutMs: number): Promise<PybalPoolAnswer>;
  close(): void;
}

export function createPybalClient(): PybalClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    async pool(base, pool, timeoutMs) {
      const url = pybalPoolUrl(base, pool);
      try {
        // Why: PyBal answers JSON only when Accept is exactly application/json (its wantJson()); anything else gets text.
        const answer = await httpRequest({
          method: 'GET',
          url,
          headers: { accept: 'application/json' },
          timeoutMs,
          agent,
        });
        if (answer.status === 404)
          return {
            ok: false,
            error: `${url}: 404, PyBal has no pool ${JSON.stringify(pool)} (check lb.pybal.service)`,
          };
        if (answer.status !== 200) return { ok: false, error: `${url}: HTTP ${answer.status}` };
        const hosts = parsePool(answer.text);
        return typeof hosts === 'string' ? { ok: false, error: `${url}: ${hosts}` } : { ok: true, hosts };
      } catch (error) {
        return { ok: false, error: `${url}: ${describeHttpError(error)}` };
      }
    },
    close: () => agent.destroy(),
  };
}
