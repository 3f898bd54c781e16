import type { RolloutEvent } from './events.js';

type GuardEvent = Extract<
  RolloutEvent,
  { event: 'slot.waiting' | 'slot.acquired' | 'canary.soaking' | 'canary.passed' | 'canary.failed' | 'canary.skipped' }
>;

const where = (e: { dc: string; cluster: string }): string => `${e.cluster}@${e.dc}`;

/** The lines of the fleet-wide cap and the canary gate (src/report/format.ts gives the rest). */
export function describeGuardEvent(event: GuardEvent): string {
  switch (event.event) {
    case 'slot.waiting': {
      const by = event.holders.map((h) => `run ${h.runId} (${h.user}@${h.machine}: ${h.hosts.join(', ')})`).join(', ');
      const queued =
        event.queuedAhead > 0 ? `; ${event.queuedAhead} request${event.queuedAhead === 1 ? '' : 's'} queued ahead` : '';
      return `${where(event)} batch ${event.batch} waiting for a restart slot: ${event.held}/${event.limit} held by ${by || 'nobody'}${queued} (scope ${event.scope})`;
    }
    case 'slot.acquired':
      return `${where(event)} batch ${event.batch} got ${event.hosts.length} restart slot${event.hosts.length === 1 ? '' : 's'} after ${(event.waitedMs / 1000).toFixed(1)}s`;
    case 'canary.soaking':
      return `${where(event)} canaries ${event.hosts.join(', ')} repooled: soaking ${event.seconds}s under live traffic before the gate`;
    case 'canary.passed':
      return `${where(event)} canary gate passed: ${event.checks.map((c) => `${c.gate}: ${c.detail}`).join('; ')}`;
    case 'canary.failed':
      return `${where(event)} canary gate FAILED, no further batch: ${event.checks.map((c) => `${c.gate}${c.ok ? ' ok' : ' FAILED'}: ${c.detail}`).join('; ')}`;
    case 'canary.skipped':
      return `${where(event)} canary gate skipped (${event.reason}) for ${event.hosts.join(', ')}`;
  }
}
