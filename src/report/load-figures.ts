import { RolloutError } from '../errors.js';

/** Requests in one second of a load generator's run (the demo's, or any tool's, converted). */
export interface LoadSecond {
  /** Epoch milliseconds of the second's start. */
  readonly atMs: number;
  /** Requests that ended in that second with the expected status. */
  readonly ok: number;
  /** Requests that ended in that second otherwise (HTTP 502, a reset, a timeout). */
  readonly failed: number;
}

/**
 * Parses `{"seconds": [{"t": "<ISO time or epoch ms>", "ok": 120, "failed": 3}, …]}` (docs/commands.md).
 * `file` names the source in errors.
 */
export function parseLoadFigures(text: string, file: string): LoadSecond[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new RolloutError('E_USAGE', `${file}: --load: not JSON (${error instanceof Error ? error.message : String(error)}); expected {"seconds": [{"t": …, "ok": …, "failed": …}]}`, { where: file, cause: error });
  }
  const seconds = (data as { seconds?: unknown } | null)?.seconds;
  if (!Array.isArray(seconds)) throw new RolloutError('E_USAGE', `${file}: --load: expected an object with a "seconds" array, got ${JSON.stringify(data)?.slice(0, 60)}`, { where: file });
  return seconds.map((entry: unknown, i): LoadSecond => {
    const e = entry as { t?: unknown; ok?: unknown; failed?: unknown } | null;
    const atMs = typeof e?.t === 'number' ? e.t : typeof e?.t === 'string' ? Date.parse(e.t) : NaN;
    const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : NaN);
    const ok = count(e?.ok);
    const failed = count(e?.failed ?? 0);
    if (!Number.isFinite(atMs) || Number.isNaN(ok) || Number.isNaN(failed)) {
      throw new RolloutError('E_USAGE', `${file}: --load: seconds[${i}]: expected {"t": an ISO time or epoch ms, "ok": a count, "failed": a count}, got ${JSON.stringify(entry)}`, { where: `${file}: seconds[${i}]` });
    }
    return { atMs, ok, failed };
  });
}
