/**
 * Self-explaining CLI assertions: when a rollout exits with another code than expected, the
 * assertion message carries the run's summary (every failed host with its step and reason), the
 * end of its output, and where its log is kept (copied out of the test's temp dir, which goes away).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { renderSummary } from '../../src/report/summary-render.js';
import type { RunSummary } from '../../src/report/summary.js';

/** Where the logs of failed assertions are kept: `<repo>/test-results/logs/` (git-ignored). */
export const KEPT_LOGS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results', 'logs');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/** The `run.summary` line of a `--json` run, rendered as the terminal shows it; undefined without one. */
function summaryOf(stdout: string): string | undefined {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"event":"run.summary"'));
  if (!line) return undefined;
  try {
    return renderSummary(JSON.parse(line) as RunSummary);
  } catch {
    return undefined;
  }
}

/** Copies the run's log (`log: <file>` on stderr) to KEPT_LOGS; the kept path, or why there is none. */
function keepLog(stderr: string): string {
  const file = /^log: (.+)$/m.exec(stderr)?.[1]?.trim();
  if (!file) return 'no log file named on stderr';
  if (!fs.existsSync(file)) return `log ${file} is gone`;
  fs.mkdirSync(KEPT_LOGS, { recursive: true });
  const kept = path.join(KEPT_LOGS, `${new Date().toISOString().replace(/[:.]/g, '-')}-${path.basename(file)}`);
  fs.copyFileSync(file, kept);
  return `log kept at ${kept}`;
}

/** Everything a reader needs to see why a run ended as it did. */
export function explain(run: CliRun): string {
  const summary = summaryOf(run.stdout) ?? `stdout (end):\n${tail(run.stdout, 40)}`;
  return [`rollout exited ${run.code}`, summary, `stderr (end):\n${tail(run.stderr, 20)}`, keepLog(run.stderr)].join(
    '\n',
  );
}

/** Asserts the exit code; only a mismatch pays for explain() (and keeps the log). */
export function expectExit(run: CliRun, code: number | null): void {
  if (run.code === code) return;
  expect(run.code, explain(run)).toBe(code);
}
