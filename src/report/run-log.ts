import { RolloutError } from '../errors.js';
import type { RolloutEvent } from './events.js';
import { shapeProblem } from './event-shapes.js';

/**
 * The events of one run from a run log (pino JSON lines, src/log.ts) or `--json` output (NDJSON).
 * Both are one JSON object per line with `event`, `time` and `runId`; pino adds `level` and `msg`,
 * NDJSON ends with a `run.summary` line. Event names this version does not know are kept out
 * (forward compatible); a file holding several runs (a reused --log-file) gives the last one.
 */
export function parseRunLog(text: string, file: string): RolloutEvent[] {
  const lines = text.split('\n');
  const events: RolloutEvent[] = [];
  let lastStart = -1;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // Why: lines are written synchronously, so only a crash mid-write leaves a cut last line.
      if (i >= lines.length - 2 && events.length > 0) continue;
      throw notALog(file, i + 1, `not a JSON line: ${line.slice(0, 60)}`);
    }
    const e = value as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw notALog(file, i + 1, 'not a JSON object');
    if (typeof e['event'] !== 'string') {
      if (typeof e['level'] === 'number' && typeof e['msg'] === 'string') continue; // a pino line that is not an event
      throw notALog(file, i + 1, 'a line without an "event" field');
    }
    if (e['event'] === 'run.summary') continue;
    if (typeof e['time'] !== 'string' || Number.isNaN(Date.parse(e['time'])) || typeof e['runId'] !== 'string') {
      throw notALog(file, i + 1, `event ${e['event']} without an ISO "time" and a "runId"`);
    }
    if (!KNOWN.has(e['event'])) continue;
    const problem = shapeProblem(e);
    if (problem !== undefined) throw notALog(file, i + 1, problem);
    if (e['event'] === 'run.started') lastStart = events.length;
    events.push(e as unknown as RolloutEvent);
  }
  if (lastStart < 0)
    throw new RolloutError(
      'E_USAGE',
      `${file}: not a rollout run log: no run.started event${events.length ? ` in ${events.length} events` : ''} (expected the JSON log of \`rollout sync\`/\`restart\`, or their --json output)`,
      { where: file },
    );
  const runId = events[lastStart]?.runId;
  return events.slice(lastStart).filter((e) => e.runId === runId);
}

function notALog(file: string, line: number, what: string): RolloutError {
  return new RolloutError(
    'E_USAGE',
    `${file}:${line}: not a rollout run log: ${what} (expected the JSON log of \`rollout sync\`/\`restart\`, or their --json output)`,
    { where: `${file}:${line}` },
  );
}

const KNOWN = new Set<string>([
  'run.started',
  'batch.started',
  'capacity.waiting',
  'host.depooled',
  'lb.confirmed',
  'lb.propagation-assumed',
  'lb.repool-confirmed',
  'host.drained',
  'host.restarted',
  'health.passed',
  'health.failed',
  'host.repooled',
  'host.repool-skipped',
  'host.skipped',
  'host.done',
  'host.failed',
  'batch.finished',
  'run.warning',
  'run.interrupted',
  'run.paused',
  'run.resumed',
  'run.aborted',
  'run.finished',
] satisfies RolloutEvent['event'][]);
