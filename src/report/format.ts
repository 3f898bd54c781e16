import type { RolloutEvent } from './events.js';
import { describeGuardEvent } from './format-guards.js';

/** `0:42`, `12:03`, `1:02:03`: elapsed time the way scap prints it. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** `cluster@dc`, the name of one cluster's progress everywhere. */
export function clusterKey(dc: string, cluster: string): string {
  return `${cluster}@${dc}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

/** One human line per event, shared by the line reporter, the TTY reporter and the log. */
export function describeEvent(event: RolloutEvent): string {
  switch (event.event) {
    case 'run.started': {
      const hosts = event.clusters.reduce((n, c) => n + c.hosts, 0);
      const ignored = event.freezeIgnored?.length ? `; IGNORING the freeze: ${event.freezeIgnored.join('; ')}` : '';
      return `${event.user}@${event.machine} started rollout ${event.command}${event.emergency ? ' --emergency' : ''}${event.release ? ` for release ${event.release}` : ''}: ${hosts} hosts in ${event.clusters.length} cluster${event.clusters.length === 1 ? '' : 's'} (run ${event.runId})${ignored}`;
    }
    case 'batch.started':
      return `${clusterKey(event.dc, event.cluster)} batch ${event.batch}/${event.batches}: ${event.hosts.join(', ')}`;
    case 'host.dispatched':
      return `${clusterKey(event.dc, event.cluster)} ${event.host} started (in flight ${event.inFlight}/${event.width})`;
    case 'capacity.waiting':
      return `${clusterKey(event.dc, event.cluster)} waiting for capacity: ${event.pooled} pooled, ${event.required} must stay pooled, ${event.wanted} wanted`;
    case 'slot.waiting':
    case 'slot.acquired':
    case 'canary.soaking':
    case 'canary.passed':
    case 'canary.failed':
    case 'canary.skipped':
      return describeGuardEvent(event);
    case 'host.depooled':
      return `${event.host} depooled`;
    case 'lb.confirmed':
      return `${event.host} depool confirmed by ${event.agents.join(', ')} after ${seconds(event.waitedMs)}`;
    case 'lb.propagation-assumed':
      return event.because === 'confirm-none'
        ? `${event.host}: lb.confirm is none in ${event.dc}, waited ${event.seconds} s for propagation (unconfirmed)`
        : `${event.host}: no LB agent registered in ${event.dc}, waited ${event.seconds} s for propagation`;
    case 'lb.repool-confirmed':
      return `${event.host} repool confirmed by ${event.agents.join(', ')} after ${seconds(event.waitedMs)}`;
    case 'host.drained':
      return `${event.host} drained after ${seconds(event.waitedMs)} (${event.active} active)`;
    case 'host.restarted':
      return `${event.host} restarted in ${seconds(event.durationMs)} (exit ${event.exitCode})`;
    case 'health.passed':
      return `${event.host} healthy after ${event.attempts} attempt${event.attempts === 1 ? '' : 's'}: ${event.detail}`;
    case 'health.failed':
      return `${event.host} unhealthy after ${event.attempts} attempt${event.attempts === 1 ? '' : 's'}: ${event.detail}`;
    case 'host.switched':
      return `${event.host} switched to master ${event.slot}${event.master === null ? '' : ` (${event.master})`}, confirmed after ${seconds(event.waitedMs)}`;
    case 'host.repooled':
      return `${event.host} repooled`;
    case 'host.repool-skipped':
      return `${event.host} not repooled: ${event.reason}`;
    case 'host.skipped':
      return `${event.host} skipped: ${event.reason}`;
    case 'host.done':
      return `${event.host} done in ${seconds(event.durationMs)}`;
    case 'host.failed':
      return `${event.host} FAILED at ${event.step} [${event.code}]: ${event.reason}${event.depooled ? ' (still depooled)' : ''}`;
    case 'batch.finished':
      return `${clusterKey(event.dc, event.cluster)} batch ${event.batch} finished: ${event.ok} ok, ${event.failed} failed`;
    case 'run.warning':
      return `warning: ${event.message}`;
    case 'run.interrupted':
      return `interrupted by ${event.signal}: finishing the running steps, repooling healthy hosts`;
    case 'run.paused':
      return `PAUSED by ${event.by}: ${event.reason} (hosts in flight finish; nothing new starts until \`rollout resume ${event.runId}\`)`;
    case 'run.resumed':
      return `resumed by ${event.by} after ${formatElapsed(event.pausedMs)} paused`;
    case 'run.aborted':
      return `ABORTED by ${event.by}: ${event.reason} (finishing the running steps, repooling healthy hosts)`;
    case 'run.finished':
      return `finished in ${formatElapsed(event.durationMs)} with exit code ${event.exitCode}: ${event.ok} ok, ${event.failed} failed, ${event.skipped} skipped, ${event.notStarted} not started`;
  }
}

/** The assumed LB propagation, said once per datacenter rather than once per host. */
export function propagationWarning(dc: string, seconds: number, because?: 'confirm-none'): string {
  if (because === 'confirm-none')
    return `lb.confirm is none in ${dc}: used a ${seconds} s propagation delay, nothing confirmed the load balancers followed`;
  return `no LB agent registered in ${dc}: used a ${seconds} s propagation delay`;
}

/**
 * Picks the events worth a line of their own as they happen (the rest only move progress);
 * returns that line. Stateful only to say the propagation warning once per datacenter.
 */
export function createNotableFilter(): (event: RolloutEvent) => string | undefined {
  const warnedDcs = new Set<string>();
  return (event) => {
    switch (event.event) {
      case 'run.started':
      case 'batch.started':
      case 'capacity.waiting':
      case 'slot.waiting':
      case 'canary.soaking':
      case 'canary.passed':
      case 'canary.failed':
      case 'canary.skipped':
      case 'host.failed':
      case 'host.repool-skipped':
      case 'run.warning':
      case 'run.interrupted':
      case 'run.paused':
      case 'run.resumed':
      case 'run.aborted':
        return describeEvent(event);
      case 'lb.propagation-assumed':
        if (warnedDcs.has(event.dc)) return undefined;
        warnedDcs.add(event.dc);
        return `warning: ${propagationWarning(event.dc, event.seconds, event.because)}`;
      default:
        return undefined;
    }
  };
}
