import type { InventoryHost } from '../inventory/types.js';

export interface ProbeResult {
  readonly ok: boolean;
  /** Why not ok, or what was seen when ok (e.g. "HTTP 200, release r42"). */
  readonly detail: string;
  /** The response body, from HTTP probes asked `withBody`: the dual-master swap reads which master answered. */
  readonly body?: string;
}

/** One health check attempt against one host (retries and deadlines are the orchestrator's). */
export interface HealthProbe {
  check(
    host: InventoryHost,
    context: { readonly release: string | undefined; readonly signal?: AbortSignal; readonly withBody?: boolean },
  ): Promise<ProbeResult>;
}

/** PHP-FPM's active request count, for drain; the probe's own request is already subtracted. */
export interface DrainProbe {
  activeRequests(host: InventoryHost, context: { readonly signal?: AbortSignal }): Promise<number>;
}
