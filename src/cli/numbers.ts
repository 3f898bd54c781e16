import { RolloutError } from '../errors.js';
import { DURATION_HINT, parseDuration } from '../duration.js';

/** What a numeric flag accepts: bounds, whole numbers only or not, and the unit named in messages. */
export interface NumberSpec {
  readonly min: number;
  readonly max: number;
  readonly int?: boolean;
  readonly unit: string;
}

/** Every numeric flag of the CLI, checked before any command contacts etcd (docs/commands.md). */
export const NUMERIC_FLAGS = {
  'parallel-clusters': { min: 1, max: 1000, int: true, unit: 'clusters' },
  'capacity-wait': { min: 0, max: 86_400, unit: 'seconds' },
  'wait-lock': { min: 0, max: 86_400, unit: 'seconds' },
  'ssh-concurrency': { min: 1, max: 4096, int: true, unit: 'connections' },
  'max-concurrency': { min: 1, max: 100_000, int: true, unit: 'hosts' },
  grace: { min: 0, max: 86_400, unit: 'seconds' },
} as const satisfies Record<string, NumberSpec>;

/**
 * The value of `--flag TEXT` as a number, or E_USAGE naming the flag. Why: yargs turns "abc" into NaN,
 * which a wait loop never reaches and a pool size rejects only after the locks are taken.
 */
export function parseNumberFlag(flag: keyof typeof NUMERIC_FLAGS, raw: unknown): number {
  const spec: NumberSpec = NUMERIC_FLAGS[flag];
  const text = Array.isArray(raw) ? String(raw[raw.length - 1]) : String(raw);
  const value =
    typeof raw === 'number' ? raw : /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(text) ? Number(text) : NaN;
  const ok = Number.isFinite(value) && value >= spec.min && value <= spec.max && (!spec.int || Number.isInteger(value));
  if (!ok) {
    const noun = spec.int ? `a whole number of ${spec.unit}` : `a number of ${spec.unit}`;
    throw new RolloutError('E_USAGE', `--${flag}: expected ${noun} from ${spec.min} to ${spec.max}, got "${text}"`, {
      where: `--${flag}`,
    });
  }
  return value;
}

/** yargs option fields for a numeric flag: read as text, then checked (an error exits 2 before any work). */
export function numberOption(flag: keyof typeof NUMERIC_FLAGS, describe: string, defaultValue?: number) {
  return {
    type: 'string' as const,
    describe,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    coerce: (raw: unknown): number => parseNumberFlag(flag, raw),
  };
}

/** yargs option fields for a duration flag (`--deadline 45m`): checked at parse time, E_USAGE naming the flag. */
export function durationOption(flag: string, describe: string) {
  return {
    type: 'string' as const,
    describe,
    coerce: (raw: unknown): { ms: number; text: string } => {
      const text = Array.isArray(raw) ? String(raw[raw.length - 1]) : String(raw);
      const ms = parseDuration(text);
      if (ms === undefined)
        throw new RolloutError('E_USAGE', `--${flag}: expected ${DURATION_HINT}, got "${text}"`, {
          where: `--${flag}`,
        });
      return { ms, text };
    },
  };
}
