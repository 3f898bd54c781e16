import { createAlertmanagerClient } from '../alerts/client.js';
import { parseMatcher, type MatcherTemplate } from '../alerts/matchers.js';
import { createHostSilences, type SilenceRun } from '../alerts/silences.js';
import type { HostSilences } from '../alerts/types.js';
import { realSleep, systemClock } from '../deps.js';
import type { Inventory } from '../inventory/types.js';

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
