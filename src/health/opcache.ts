// How full a host's opcache is, from opcache_get_status() as JSON (scap's check-and-restart-php read
// the same figures from php7adm's opcache-info endpoint).
import { describeError, RolloutError } from '../errors.js';
import type { InventoryHost } from '../inventory/types.js';
import { renderCommand, renderUrl } from '../transport/template.js';
import type { Transport } from '../transport/types.js';
import { describeFetchError, requestSignal } from './fetch-error.js';
import { execProbeCommand } from './probe-exec.js';
import { probeVars } from './vars.js';

/** Opcache memory in use on one host, in percent; throws E_OPCACHE when it cannot be read. */
export interface OpcacheProbe {
  usedPercent(host: InventoryHost, context: { readonly signal?: AbortSignal }): Promise<number>;
}

/**
 * (used + wasted) / (used + free + wasted) of `memory_usage`: wasted memory (scripts changed since
 * they were cached) is only given back by a restart, so it counts as used.
 */
export function opcachePercent(text: string): number | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `not JSON (starts with ${JSON.stringify(text.slice(0, 60))})`;
  }
  if (parsed === false) return 'opcache_get_status() returned false: is the opcache enabled?';
  const memory = (parsed as { memory_usage?: Record<string, unknown> } | null)?.memory_usage;
  const [used, free, wasted] = ['used_memory', 'free_memory', 'wasted_memory'].map((k) => memory?.[k]);
  if (typeof used !== 'number' || typeof free !== 'number' || typeof wasted !== 'number' || used + free + wasted <= 0) {
    return 'no memory_usage.used_memory/free_memory/wasted_memory: is this opcache_get_status() as JSON?';
  }
  return (100 * (used + wasted)) / (used + free + wasted);
}

function opcacheError(host: InventoryHost, from: string, why: string): RolloutError {
  return new RolloutError('E_OPCACHE', `${host.name}: cannot read the opcache figures from ${from}: ${why}`, {
    host: host.name,
  });
}

/** Reads `restart.opcache.url` over HTTP or runs `restart.opcache.command` over SSH. */
export function createOpcacheProbe(
  transport: Transport,
  options: { readonly fetch?: typeof fetch } = {},
): OpcacheProbe {
  const doFetch = options.fetch ?? fetch;
  return {
    async usedPercent(host, context) {
      const settings = host.settings.restart.opcache;
      if (settings === undefined) throw opcacheError(host, 'nowhere', 'restart.opcache has neither url nor command');
      const vars = probeVars(host, undefined);
      let text: string;
      let from: string;
      if (settings.url !== undefined) {
        from = renderUrl(settings.url, vars);
        const timeout = host.settings.health.requestTimeoutSeconds;
        try {
          const response = await doFetch(from, { signal: requestSignal(timeout, context.signal), redirect: 'manual' });
          text = await response.text();
          if (response.status !== 200) throw opcacheError(host, from, `HTTP ${response.status}`);
        } catch (error) {
          if (context.signal?.aborted) throw context.signal.reason;
          if (error instanceof RolloutError) throw error;
          throw opcacheError(host, from, describeFetchError(error, timeout));
        }
      } else {
        const command = renderCommand(settings.command ?? '', vars);
        from = `\`${command}\``;
        const ran = await execProbeCommand(transport, host, command, context.signal);
        if ('error' in ran) throw opcacheError(host, from, describeError(ran.error));
        if (ran.result.exitCode !== 0)
          throw opcacheError(host, from, `exited ${ran.result.exitCode ?? ran.result.signal ?? '?'}`);
        text = ran.result.stdout.trim();
      }
      const percent = opcachePercent(text);
      if (typeof percent === 'string') throw opcacheError(host, from, percent);
      return percent;
    },
  };
}
