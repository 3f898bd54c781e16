// Merged settings + built-in defaults → the typed settings of src/inventory/types.ts.
import type {
  Amount,
  BatchMode,
  CanarySettings,
  ClusterSettings,
  DrainSettings,
  HealthSettings,
  HostSettings,
  LbSettings,
} from './types.js';
import { DEFAULT_CLUSTER_SETTINGS, DEFAULT_HEALTH_URL, DEFAULT_HOST_SETTINGS } from './defaults.js';
import type { RawSettings } from './settings.js';
import { checkStrategy } from './strategy-fields.js';
import { checkLbConfirm } from './lb-fields.js';
import type { Ctx, Located } from './yaml-nodes.js';

type Fields = Readonly<Record<string, Located<unknown>>>;

/** Every field of `defaults`, overridden by the fields that were written. */
function over<T extends object>(defaults: T, fields: Fields): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(fields)) out[k] = v.value;
  return out as T;
}

function errorAt(ctx: Ctx, at: Located<unknown>, message: string): void {
  const text = `${at.where}: ${at.path}: ${message}`;
  if (!ctx.errors.includes(text)) ctx.errors.push(text);
}

/** Settings of one host; cross-field problems are reported where the deciding field was written. */
export function resolveHostSettings(ctx: Ctx, raw: RawSettings): HostSettings {
  const d = DEFAULT_HOST_SETTINGS;
  const restart = over(d.restart, raw.groups.restart);
  checkStrategy(ctx, raw.groups.restart, restart);
  return {
    ...servicesOf(raw, d.service),
    weight: (raw.top['weight']?.value as number | undefined) ?? d.weight,
    ssh: over(d.ssh, raw.groups.ssh),
    // The emergency command is the normal one unless written: a restart is a restart.
    restart:
      raw.groups.restart['emergencyCommand'] === undefined
        ? { ...restart, emergencyCommand: restart.command }
        : restart,
    drain: resolveDrain(ctx, raw.groups.drain),
    health: resolveHealth(ctx, raw.groups.health),
    lb: resolveLb(ctx, raw.groups.lb),
  };
}

/** The host's pools: `services`, the first of them also as `service` ({service} in templates). */
function servicesOf(raw: RawSettings, fallback: string): { service: string; services?: readonly string[] } {
  const services = (raw.top['services']?.value as readonly string[] | undefined) ?? [fallback];
  // Why: a host in one pool has just `service`, as before there were several.
  return services.length > 1 ? { service: services[0] ?? fallback, services } : { service: services[0] ?? fallback };
}

function resolveLb(ctx: Ctx, fields: Fields): LbSettings {
  const lb = over(DEFAULT_HOST_SETTINGS.lb, fields);
  checkLbConfirm(ctx, fields, lb);
  return lb;
}

/**
 * Drain mode: `status` when a statusUrl or statusCommand is set anywhere and no mode is written,
 * else `fixed`. An explicit `mode: status` with neither is an error, never a silent fixed wait.
 */
function resolveDrain(ctx: Ctx, fields: Fields): DrainSettings {
  const drain = over(DEFAULT_HOST_SETTINGS.drain, fields);
  const hasSource = drain.statusUrl !== undefined || drain.statusCommand !== undefined;
  const mode = fields['mode'];
  if (mode === undefined) return { ...drain, mode: hasSource ? 'status' : 'fixed' };
  if (drain.mode === 'status' && !hasSource) {
    errorAt(
      ctx,
      mode,
      'mode "status" needs drain.statusUrl (PHP-FPM status page, JSON) or drain.statusCommand; set one, or use mode: fixed with drain.seconds',
    );
  }
  return drain;
}

function resolveHealth(ctx: Ctx, fields: Fields): HealthSettings {
  const health = over({ ...DEFAULT_HOST_SETTINGS.health, url: undefined }, fields);
  const type = fields['type'];
  if (health.type === 'command' && health.command === undefined && type !== undefined) {
    errorAt(ctx, type, 'type "command" needs health.command (run over SSH, healthy on exit 0)');
  }
  if (health.type === 'http' && health.url === undefined) return { ...health, url: DEFAULT_HEALTH_URL };
  return health;
}

/** Settings of one cluster; `hostCount` only feeds warnings. */
export function resolveClusterSettings(ctx: Ctx, raw: RawSettings, hostCount: number): ClusterSettings {
  const d = DEFAULT_CLUSTER_SETTINGS;
  const batch = raw.top['batch'] as Located<Amount[]> | undefined;
  const batchMode = raw.top['batchMode'] as Located<BatchMode> | undefined;
  const minPooled = raw.top['minPooled'] as Located<Amount> | undefined;
  const budget = raw.top['failureBudget'] as Located<Amount> | undefined;
  if (minPooled && minPooled.value.kind === 'count' && minPooled.value.value > hostCount) {
    const text = `${minPooled.where}: ${minPooled.path}: minPooled ${minPooled.value.value} is more than the ${hostCount} hosts of a cluster that uses it; the capacity guard will refuse every batch`;
    if (!ctx.warnings.includes(text)) ctx.warnings.push(text);
  }
  return {
    batchSize: batch?.value ?? d.batchSize,
    batchMode: batchMode?.value ?? d.batchMode,
    minPooled: minPooled?.value ?? d.minPooled,
    failureBudget: budget?.value ?? d.failureBudget,
    canary: (raw.top['canary'] as Located<CanarySettings> | undefined)?.value,
  };
}
