import type { RolloutEvent } from '../../../src/report/events.js';
import { at, goodHost } from './events.js';

export const EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>';

/** A run whose every free-text and numeric field the report prints holds markup (as a crafted log would). */
export function craftedRun(): RolloutEvent[] {
  const c = { dc: `dc${EVIL}`, cluster: `app${EVIL}` };
  const evil = (e: RolloutEvent): RolloutEvent => ({ ...e, ...('dc' in e ? c : {}) }) as RolloutEvent;
  return [
    evil({
      ...at(0, {
        event: 'run.started',
        command: `sync${EVIL}`,
        argv: [],
        user: 'u',
        machine: 'm',
        pid: 1,
        emergency: false,
        release: `r${EVIL}`,
        clusters: [{ ...c, hosts: 1, batches: 1 }],
      }),
    }),
    evil({ ...at(0, { event: 'batch.started', ...c, batch: EVIL as unknown as number, batches: 1, hosts: ['mw1'] }) }),
    ...goodHost(`mw1${EVIL}`, 0, c).map(evil),
    at(1, { event: 'run.warning', message: EVIL }),
    at(8, {
      event: 'run.finished',
      exitCode: EVIL as unknown as number,
      ok: 1,
      failed: 0,
      skipped: 0,
      notStarted: 0,
      durationMs: 8000,
    }),
  ];
}
