/** Durations as operators type them: `45m`, `90s`, `1h30m`, `2h`, `500ms` (units may be chained, largest first). */
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|d|h|m|s))+$/;

/** Milliseconds, or undefined when the text is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART))
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total > 0 && Number.isFinite(total) ? Math.round(total) : undefined;
}

/** What a bad duration message says the value should look like. */
export const DURATION_HINT = 'a duration like "45m", "90s" or "1h30m"';
