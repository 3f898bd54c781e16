import { RolloutError, describeError } from '../errors.js';
import type { InventoryHost } from '../inventory/types.js';
import { renderCommand, renderUrl } from '../transport/template.js';
import type { Transport } from '../transport/types.js';
import { describeFetchError, requestSignal } from './fetch-error.js';
import { activeRequests, parseFpmStatus } from './fpm-status.js';
import { execProbeCommand } from './probe-exec.js';
import type { DrainProbe } from './types.js';
import { probeVars } from './vars.js';

export interface HttpDrainProbeOptions {
  /** Injected for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

function drainError(host: InventoryHost, from: string, why: string, cause?: unknown): RolloutError {
  return new RolloutError(
    'E_DRAIN',
    `${host.name}: cannot read PHP-FPM status from ${from}: ${why}; check drain.statusUrl/statusCommand and pm.status_path, or use drain.mode: fixed`,
    cause === undefined ? { host: host.name } : { host: host.name, cause },
  );
}

/** Reads `drain.statusUrl` (PHP-FPM status JSON) over HTTP; timeout: health.requestTimeoutSeconds. */
export function createHttpDrainProbe(options: HttpDrainProbeOptions = {}): DrainProbe {
  const doFetch = options.fetch ?? fetch;
  return {
    async activeRequests(host, context) {
      const template = host.settings.drain.statusUrl;
      if (template === undefined) {
        throw new RolloutError(
          'E_USAGE',
          `${host.name}: drain.mode is status but neither drain.statusUrl nor drain.statusCommand is set`,
          { host: host.name },
        );
      }
      const url = renderUrl(template, probeVars(host, undefined));
      const timeout = host.settings.health.requestTimeoutSeconds;
      let status: number;
      let text: string;
      try {
        const response = await doFetch(url, { signal: requestSignal(timeout, context.signal), redirect: 'manual' });
        status = response.status;
        text = await response.text();
      } catch (error) {
        if (context.signal?.aborted) throw context.signal.reason;
        throw drainError(host, url, describeFetchError(error, timeout), error);
      }
      if (status !== 200) throw drainError(host, url, `HTTP ${status}`);
      const parsed = parseFpmStatus(text);
      if (typeof parsed === 'string') throw drainError(host, url, parsed);
      return activeRequests(parsed, new URL(url).pathname);
    },
  };
}

/** Runs `drain.statusCommand` over SSH; it must print PHP-FPM's status JSON. */
export function createCommandDrainProbe(transport: Transport): DrainProbe {
  return {
    async activeRequests(host, context) {
      const template = host.settings.drain.statusCommand;
      if (template === undefined) {
        throw new RolloutError('E_USAGE', `${host.name}: drain.statusCommand is not set`, { host: host.name });
      }
      const command = renderCommand(template, probeVars(host, undefined));
      const from = `\`${command}\``;
      const ran = await execProbeCommand(transport, host, command, context.signal);
      if ('error' in ran) throw drainError(host, from, describeError(ran.error), ran.error);
      const { result } = ran;
      if (result.exitCode !== 0) {
        throw drainError(
          host,
          from,
          `exited ${result.exitCode ?? result.signal ?? '?'}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n').pop() ?? ''}` : ''}`,
        );
      }
      const parsed = parseFpmStatus(result.stdout.trim());
      if (typeof parsed === 'string') throw drainError(host, from, parsed);
      // Why: a command's status request path is unknown, so only our own request is subtracted.
      return activeRequests(parsed, undefined);
    },
  };
}
