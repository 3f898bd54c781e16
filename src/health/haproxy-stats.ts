import { RolloutError } from '../errors.js';
import { sendCommand } from '../lb/haproxy.js';
import { describeFetchError } from './fetch-error.js';

/** HTTP responses and the 5xx among them, as HAProxy counts them (hrsp_* columns of `show stat`). */
export interface ResponseCounts {
  readonly responses: number;
  readonly errors5xx: number;
}

/** One backend's counters: its BACKEND row and each server row, by server name. */
export interface BackendCounts {
  readonly backend: ResponseCounts;
  readonly servers: ReadonlyMap<string, ResponseCounts>;
}

/** Where the stats come from: the runtime API (admin socket, `show stat`) or the stats page's CSV. */
export type StatsSource = { readonly socket: string } | { readonly url: string };

const CLASSES = ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'] as const;

/** Parses `show stat` CSV (the stats page's `;csv` is the same) for one backend. Exported for tests. */
export function parseShowStat(csv: string, backend: string, where: string): BackendCounts {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0]?.startsWith('# ') ? lines[0].slice(2).split(',') : undefined;
  if (header === undefined)
    throw new RolloutError(
      'E_HAPROXY',
      `HAProxy ${where}: show stat: not CSV stats: ${JSON.stringify(csv.slice(0, 200))}`,
    );
  const col = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0) throw new RolloutError('E_HAPROXY', `HAProxy ${where}: show stat has no column ${name}`);
    return index;
  };
  const [px, sv] = [col('pxname'), col('svname')];
  const classes = CLASSES.map(col);
  const five = col('hrsp_5xx');
  let total: ResponseCounts | undefined;
  const servers = new Map<string, ResponseCounts>();
  for (const line of lines.slice(1)) {
    const fields = line.split(',');
    if (fields[px] !== backend) continue;
    const num = (i: number): number => Number(fields[i] ?? 0) || 0;
    const counts = { responses: classes.reduce((n, i) => n + num(i), 0), errors5xx: num(five) };
    if (fields[sv] === 'BACKEND') total = counts;
    else if (fields[sv] !== 'FRONTEND') servers.set(fields[sv] ?? '', counts);
  }
  if (total === undefined)
    throw new RolloutError(
      'E_HAPROXY',
      `HAProxy ${where}: no backend ${backend} in show stat (check canary.gate.haproxyStats.backend)`,
    );
  return { backend: total, servers };
}

export function describeSource(source: StatsSource): string {
  return 'socket' in source ? source.socket : source.url;
}

/** Reads one backend's counters now. */
export async function readBackendCounts(
  source: StatsSource,
  backend: string,
  timeoutMs: number,
  doFetch: typeof fetch = fetch,
): Promise<BackendCounts> {
  const where = describeSource(source);
  if ('socket' in source)
    return parseShowStat(
      await sendCommand(source.socket, `show stat ${backend} -1 -1`, timeoutMs, backend),
      backend,
      where,
    );
  let text: string;
  try {
    const response = await doFetch(source.url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'rollout canary gate' },
    });
    if (response.status !== 200) throw new RolloutError('E_HAPROXY', `HAProxy stats ${where}: HTTP ${response.status}`);
    text = await response.text();
  } catch (error) {
    if (error instanceof RolloutError) throw error;
    throw new RolloutError('E_HAPROXY', `HAProxy stats ${where}: ${describeFetchError(error, timeoutMs / 1000)}`, {
      cause: error,
    });
  }
  return parseShowStat(text, backend, where);
}

/** `later − earlier`; a counter that went down (HAProxy reloaded) counts from zero. */
export function delta(later: ResponseCounts, earlier: ResponseCounts | undefined): ResponseCounts {
  if (earlier === undefined || later.responses < earlier.responses || later.errors5xx < earlier.errors5xx) return later;
  return { responses: later.responses - earlier.responses, errors5xx: later.errors5xx - earlier.errors5xx };
}

export function sum(counts: readonly ResponseCounts[]): ResponseCounts {
  return counts.reduce((a, b) => ({ responses: a.responses + b.responses, errors5xx: a.errors5xx + b.errors5xx }), {
    responses: 0,
    errors5xx: 0,
  });
}

export function ratio(counts: ResponseCounts): number {
  return counts.responses === 0 ? 0 : counts.errors5xx / counts.responses;
}
