import { RolloutError } from '../errors.js';
import type { InventoryHost } from '../inventory/types.js';
import { renderUrl } from '../transport/template.js';
import { describeFetchError, requestSignal } from './fetch-error.js';
import type { HealthProbe, ProbeResult } from './types.js';
import { probeVars } from './vars.js';

export interface HttpProbeOptions {
  /** Injected for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

// Why: a health page is small; a huge body means the URL points at the wrong thing.
const MAX_BODY_CHARS = 1_000_000;

/**
 * One HTTP health check attempt: status, optional body substring and, with a release, the
 * release header or JSON field. A failing host gives `ok: false`; only a configuration error
 * (no url, no way to read the release) or the caller's abort throws.
 */
export function createHttpProbe(options: HttpProbeOptions = {}): HealthProbe {
  const doFetch = options.fetch ?? fetch;
  return {
    async check(host, context) {
      const health = host.settings.health;
      if (health.url === undefined) {
        throw new RolloutError(
          'E_USAGE',
          `${host.name}: health.type is http but health.url is not set; set health.url (e.g. "http://{address}/fpm-ping") or use type: command`,
          { host: host.name, where: `${host.source.file}:${host.source.line}:${host.source.col}` },
        );
      }
      if (context.release !== undefined && health.releaseHeader === undefined && health.releaseField === undefined) {
        throw new RolloutError(
          'E_USAGE',
          `${host.name}: --release needs health.releaseHeader or health.releaseField to know which release a host serves`,
          { host: host.name },
        );
      }
      const url = renderUrl(health.url, probeVars(host, context.release));
      const timeout = health.requestTimeoutSeconds;
      let response: Response;
      let body: string;
      try {
        response = await doFetch(url, {
          signal: requestSignal(timeout, context.signal),
          redirect: 'manual',
          headers: { 'user-agent': 'rollout health probe' },
        });
        body = (await response.text()).slice(0, MAX_BODY_CHARS);
      } catch (error) {
        if (context.signal?.aborted) throw context.signal.reason;
        return { ok: false, detail: `${describeFetchError(error, timeout)} (${url})` };
      }
      const result = judge(host, response, body, url, context.release);
      return context.withBody === true ? { ...result, body } : result;
    },
  };
}

function judge(
  host: InventoryHost,
  response: Response,
  body: string,
  url: string,
  release: string | undefined,
): ProbeResult {
  const health = host.settings.health;
  if (response.status !== health.expectStatus) {
    return {
      ok: false,
      detail: `HTTP ${response.status} from ${url}${health.expectStatus === 200 ? '' : ` (expected ${health.expectStatus})`}`,
    };
  }
  if (health.expectBody !== undefined && !body.includes(health.expectBody)) {
    return {
      ok: false,
      detail: `HTTP ${response.status} from ${url} without ${JSON.stringify(health.expectBody)} in the body`,
    };
  }
  if (release === undefined) return { ok: true, detail: `HTTP ${response.status}` };
  const served = servedRelease(response, body, health.releaseHeader, health.releaseField);
  if (served.value === undefined) {
    return { ok: false, detail: `serves no release (${served.source} missing), expected ${release}` };
  }
  if (served.value !== release) {
    return { ok: false, detail: `serves release ${served.value}, expected ${release} (${served.source})` };
  }
  return { ok: true, detail: `HTTP ${response.status}, release ${release}` };
}

/** The header wins when both are configured and the header is present. */
function servedRelease(
  response: Response,
  body: string,
  header: string | undefined,
  field: string | undefined,
): { value: string | undefined; source: string } {
  if (header !== undefined) {
    const value = response.headers.get(header);
    if (value !== null || field === undefined) return { value: value?.trim(), source: `header ${header}` };
  }
  const source = `field ${field ?? ''}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { value: undefined, source: `${source}, body is not JSON` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { value: undefined, source };
  const value = (parsed as Record<string, unknown>)[field ?? ''];
  if (typeof value === 'string' || typeof value === 'number') return { value: String(value), source };
  return { value: undefined, source };
}
