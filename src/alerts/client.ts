import { readFileSync } from 'node:fs';
import { RolloutError } from '../errors.js';
import { describeHttpError, httpRequest, type HttpAnswer } from '../net/request.js';
import type { AlertmanagerApi, SilenceSpec, SilenceView } from './types.js';

export interface AlertmanagerClientOptions {
  /** Alertmanager peers of one cluster: silences gossip between them, so one taking it is enough. */
  readonly urls: readonly string[];
  readonly timeoutSeconds: number;
  readonly ca?: string | undefined;
  /** Name of the environment variable holding a bearer token (never the token itself). */
  readonly bearerTokenEnv?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

interface RawSilence {
  readonly id?: string;
  readonly status?: { readonly state?: string };
  readonly matchers?: SilenceView['matchers'];
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly createdBy?: string;
  readonly comment?: string;
}

/** Alertmanager's API v2 over HTTP(S): each URL in turn on a transport failure or a 5xx. */
export function createAlertmanagerClient(options: AlertmanagerClientOptions): AlertmanagerApi {
  const urls = options.urls.map((u) => u.replace(/\/+$/, ''));
  const ca = options.ca === undefined ? undefined : readCa(options.ca);
  const token = options.bearerTokenEnv === undefined ? undefined : options.env[options.bearerTokenEnv];
  if (options.bearerTokenEnv !== undefined && !token)
    throw new RolloutError(
      'E_USAGE',
      `alerts.alertmanager.bearerTokenEnv names ${options.bearerTokenEnv}, which is not set: export it, or remove bearerTokenEnv`,
      { where: 'alerts.alertmanager.bearerTokenEnv' },
    );
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'rollout',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };

  async function call(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    const failures: string[] = [];
    for (const base of urls) {
      try {
        const answer = await httpRequest({
          method,
          url: `${base}/api/v2${path}`,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          timeoutMs: options.timeoutSeconds * 1000,
          ...(ca === undefined ? {} : { ca }),
        });
        if (answer.status < 500) return answer;
        failures.push(`${base}: HTTP ${answer.status} ${answer.text.trim().slice(0, 200)}`);
      } catch (error) {
        failures.push(`${base}: ${describeHttpError(error)}`);
      }
    }
    throw new RolloutError('E_ALERTS', `Alertmanager did not answer (${failures.join('; ')})`);
  }

  const refused = (what: string, answer: HttpAnswer): RolloutError =>
    new RolloutError(
      'E_ALERTS',
      `Alertmanager refused to ${what} (HTTP ${answer.status}: ${answer.text.trim().slice(0, 300)})${answer.status === 401 || answer.status === 403 ? '; check alerts.alertmanager.bearerTokenEnv' : ''}`,
    );

  return {
    async post(silence: SilenceSpec, id?: string) {
      const answer = await call('POST', '/silences', id === undefined ? silence : { ...silence, id });
      if (answer.status !== 200) throw refused(id === undefined ? 'create a silence' : `extend silence ${id}`, answer);
      const parsed = parse<{ silenceID?: string }>(answer.text);
      if (typeof parsed?.silenceID !== 'string') throw refused('say which silence it created', answer);
      return parsed.silenceID;
    },
    async expire(id: string) {
      const answer = await call('DELETE', `/silence/${encodeURIComponent(id)}`);
      // Why: an already expired silence answers 500 "silence … already expired" on some versions, 404 when gone.
      if (answer.status === 200 || answer.status === 404) return;
      throw refused(`expire silence ${id}`, answer);
    },
    async list() {
      const answer = await call('GET', '/silences');
      if (answer.status !== 200) throw refused('list silences', answer);
      const raw = parse<RawSilence[]>(answer.text);
      if (!Array.isArray(raw)) throw refused('list silences as JSON', answer);
      return raw.map(viewOf);
    },
    async get(id: string) {
      const answer = await call('GET', `/silence/${encodeURIComponent(id)}`);
      if (answer.status === 404) return undefined;
      if (answer.status !== 200) throw refused(`read silence ${id}`, answer);
      const raw = parse<RawSilence>(answer.text);
      if (raw === null || typeof raw !== 'object') throw refused(`read silence ${id} as JSON`, answer);
      return viewOf(raw);
    },
  };
}

function viewOf(s: RawSilence): SilenceView {
  return {
    id: s.id ?? '',
    state: s.status?.state === 'active' || s.status?.state === 'pending' ? s.status.state : 'expired',
    matchers: s.matchers ?? [],
    startsAt: s.startsAt ?? '',
    endsAt: s.endsAt ?? '',
    createdBy: s.createdBy ?? '',
    comment: s.comment ?? '',
  };
}

function parse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new RolloutError('E_USAGE', `alerts.alertmanager.ca: cannot read ${path} (${describeHttpError(error)})`, {
      where: 'alerts.alertmanager.ca',
    });
  }
}
