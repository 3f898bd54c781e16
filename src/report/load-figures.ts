import { RolloutError } from '../errors.js';

/** Requests that ended in one interval of a load generator's run (the demo's, or any tool's, converted). */
export interface LoadSample {
  /** Epoch milliseconds of the interval's start. */
  readonly atMs: number;
  /** Requests that ended in it with the expected status. */
  readonly ok: number;
  /** Requests that ended in it otherwise (HTTP 502, a reset, a timeout). */
  readonly failed: number;
}

export interface LoadFigures {
  /** The width of every sample (default 1000). */
  readonly intervalMs: number;
  readonly samples: readonly LoadSample[];
}

const FORMAT = '{"intervalMs": 1000, "samples": [{"t": <ISO time or epoch ms>, "ok": <count>, "failed": <count>}, …]}';

/** Parses the `--load` file (docs/commands.md); `file` names it in errors. */
export function parseLoadFigures(text: string, file: string): LoadFigures {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new RolloutError(
      'E_USAGE',
      `${file}: --load: not JSON (${error instanceof Error ? error.message : String(error)}); expected ${FORMAT}`,
      { where: file, cause: error },
    );
  }
  const d = data as { samples?: unknown; intervalMs?: unknown } | null;
  if (!Array.isArray(d?.samples))
    throw new RolloutError(
      'E_USAGE',
      `${file}: --load: expected ${FORMAT}, got ${JSON.stringify(data)?.slice(0, 60)}`,
      { where: file },
    );
  const intervalMs = d.intervalMs ?? 1000;
  if (typeof intervalMs !== 'number' || !(intervalMs > 0))
    throw new RolloutError(
      'E_USAGE',
      `${file}: --load: intervalMs: expected a positive number of milliseconds, got ${JSON.stringify(intervalMs)}`,
      { where: `${file}: intervalMs` },
    );
  const samples = d.samples.map((entry: unknown, i): LoadSample => {
    const e = entry as { t?: unknown; ok?: unknown; failed?: unknown } | null;
    const atMs = typeof e?.t === 'number' ? e.t : typeof e?.t === 'string' ? Date.parse(e.t) : NaN;
    const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : NaN);
    const ok = count(e?.ok);
    const failed = count(e?.failed ?? 0);
    if (!Number.isFinite(atMs) || Number.isNaN(ok) || Number.isNaN(failed)) {
      throw new RolloutError(
        'E_USAGE',
        `${file}: --load: samples[${i}]: expected {"t": an ISO time or epoch ms, "ok": a count, "failed": a count}, got ${JSON.stringify(entry)}`,
        { where: `${file}: samples[${i}]` },
      );
    }
    return { atMs, ok, failed };
  });
  return { intervalMs, samples };
}
