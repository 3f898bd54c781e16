import { createAlertmanagerClient } from '../alerts/client.js';
import { parseMatcher, type MatcherTemplate } from '../alerts/matchers.js';
import { createHostSilences, type SilenceRun } from '../alerts/silences.js';
import type { HostSilences } from '../alerts/types.js';
import { realSleep, systemClock } from '../deps.js';
import { childEnv } from '../child-env.js';
import { allClusters, type Inventory } from '../inventory/types.js';
import { MetricsCollector, type RunMode } from '../metrics/collector.js';
import type { RunContext } from '../notify/document.js';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import type { Reporter, RolloutEvent } from '../report/events.js';

/** The run's Alertmanager silences, when the inventory has `alerts:`. */
export function createSilences(
  inventory: Inventory,
  run: SilenceRun,
  env: Readonly<Record<string, string | undefined>>,
  onWarning: (message: string) => void,
): HostSilences | undefined {
  const alerts = inventory.alerts;
  if (alerts === undefined) return undefined;
  const am = alerts.alertmanager;
  return createHostSilences({
    api: createAlertmanagerClient({
      urls: am.urls,
      timeoutSeconds: am.timeoutSeconds,
      ca: am.ca,
      bearerTokenEnv: am.bearerTokenEnv,
      env,
    }),
    // Why: validated at load (src/inventory/ops.ts), so every matcher parses.
    matchers: am.matchers.map((m) => parseMatcher(m)).filter((m): m is MatcherTemplate => m !== undefined),
    comment: am.comment,
    ttlSeconds: am.ttlSeconds,
    required: alerts.required,
    run,
    clock: systemClock,
    sleep: realSleep,
    onWarning,
  });
}

/** Every environment variable the inventory names as holding a secret: a hook's child process never sees them. */
export function secretEnvNames(inventory: Inventory): string[] {
  return [
    inventory.etcd.passwordEnv,
    inventory.alerts?.alertmanager.bearerTokenEnv,
    ...(inventory.notify ?? []).flatMap((s) => (s.kind === 'webhook' ? Object.values(s.headersEnv) : [])),
  ].filter((n): n is string => n !== undefined);
}

/** The run's hook sinks, when the inventory has `notify:`. */
export function createRunNotifier(
  inventory: Inventory,
  run: RunContext,
  env: Readonly<Record<string, string | undefined>>,
  onWarning: (message: string) => void,
): Notifier | undefined {
  if (inventory.notify === undefined || inventory.notify.length === 0) return undefined;
  return createNotifier({
    sinks: inventory.notify,
    run,
    env: { env, childEnv: childEnv(env, secretEnvNames(inventory)) },
    onWarning,
  });
}

/** A reporter that also hands every event to observers (hooks, metrics), after the reporter itself. */
export function observed(report: Reporter, observers: readonly ((event: RolloutEvent) => void)[]): Reporter {
  return {
    emit(event) {
      report.emit(event);
      for (const observe of observers) observe(event);
    },
    close: () => report.close(),
  };
}

/** The run's metrics collector, when the inventory has `metrics:`; the mode of a cluster is the run's, or dual-master. */
export function createMetricsCollector(inventory: Inventory, emergency: boolean): MetricsCollector | undefined {
  if (inventory.metrics === undefined) return undefined;
  const clusters = new Map(allClusters(inventory).map((c) => [`${c.name}@${c.dc}`, c] as const));
  return new MetricsCollector((dc, cluster): RunMode => {
    if (emergency) return 'emergency';
    const hosts = clusters.get(`${cluster}@${dc}`)?.hosts ?? [];
    return hosts.length > 0 && hosts.every((h) => h.settings.restart.strategy === 'dual-master')
      ? 'dual-master'
      : 'graceful';
  });
}
