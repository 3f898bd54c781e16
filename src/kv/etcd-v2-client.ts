import { readSettingFile } from './settings-file.js';
import http from 'node:http';
import https from 'node:https';
import { plainTextPasswordWarning, refusePlainWithTls } from './plain-auth.js';
import { RolloutError } from '../errors.js';
import type { EtcdSettings } from '../inventory/types.js';
import { unreachableError } from './kv-errors.js';

/** A node of etcd's v2 keys API, as its JSON answers it. */
export interface V2Node {
  readonly key: string;
  readonly value?: string;
  readonly dir?: boolean;
  readonly nodes?: readonly V2Node[];
  readonly modifiedIndex: number;
  readonly createdIndex: number;
}

/** One v2 answer: the etcd index it was served at (X-Etcd-Index), and its body. */
export interface V2Answer {
  readonly status: number;
  readonly index: number;
  readonly body: {
    readonly action?: string;
    readonly node?: V2Node;
    readonly prevNode?: V2Node;
    readonly errorCode?: number;
    readonly message?: string;
    readonly cause?: string;
    readonly index?: number;
  };
}

/** etcd v2 error codes rollout acts on (etcd's error/error.go). */
export const V2_KEY_NOT_FOUND = 100;
export const V2_COMPARE_FAILED = 101;
export const V2_NODE_EXISTS = 105;
export const V2_INDEX_CLEARED = 401;

/** The v2 keys API, over Node's own http(s): a GET, a CAS and a long-poll wait. */
export interface V2Client {
  /** A quorum (linearizable) read; recursive for a directory. A missing key answers 404 (errorCode 100), not an error. */
  get(key: string, options?: { readonly recursive?: boolean }): Promise<V2Answer>;
  /** PUT with prevIndex (CAS) or prevExist=false (create). A lost compare answers 412, not an error. */
  put(
    key: string,
    value: string,
    condition: { readonly prevIndex: number } | { readonly prevExist: false },
  ): Promise<V2Answer>;
  /** DELETE only while the key is at prevIndex (the undo of a create). */
  remove(key: string, prevIndex: number): Promise<V2Answer>;
  /** The next event under `key` at or after `waitIndex`; no deadline (aborted by the signal). */
  wait(key: string, waitIndex: number, signal: AbortSignal): Promise<V2Answer>;
  readonly endpoints: readonly string[];
  close(): void;
}

function authHeader(settings: EtcdSettings, env: NodeJS.ProcessEnv): string | undefined {
  if (settings.username === undefined) return undefined;
  const variable = settings.passwordEnv;
  const password = variable === undefined ? undefined : env[variable];
  if (variable === undefined || password === undefined || password === '') {
    throw new RolloutError(
      'E_INVENTORY',
      `etcd.username is ${settings.username} but etcd.passwordEnv ${variable === undefined ? 'is not set' : `(${variable}) is empty`}: export the etcd password`,
      { where: 'etcd.passwordEnv' },
    );
  }
  return `Basic ${Buffer.from(`${settings.username}:${password}`).toString('base64')}`;
}

/** `/a/b.c` → `/v2/keys/a/b.c`, each segment escaped. */
function keyPath(key: string): string {
  return `/v2/keys${key
    .split('/')
    .map((part) => encodeURIComponent(part))
    .join('/')}`;
}

/**
 * Node's http(s) rather than fetch: fetch takes no CA or client certificate without undici's
 * dispatcher (another dependency), and its 300 s headers timeout would cut a quiet v2 long-poll.
 */
export function createV2Client(
  settings: EtcdSettings,
  options: {
    readonly endpoints?: readonly string[];
    readonly env?: NodeJS.ProcessEnv;
    /** Told when the password would cross the network in clear (plain http://). */
    readonly onWarning?: (message: string) => void;
  } = {},
): V2Client {
  const endpoints = [...(options.endpoints ?? settings.endpoints)].map((e) => e.replace(/\/+$/, ''));
  refusePlainWithTls(settings, endpoints);
  const warning = plainTextPasswordWarning(settings, endpoints);
  if (warning !== undefined) options.onWarning?.(warning);
  const auth = authHeader(settings, options.env ?? process.env);
  const tls = {
    ...(settings.ca === undefined ? {} : { ca: readSettingFile('etcd.ca', settings.ca) }),
    ...(settings.cert === undefined ? {} : { cert: readSettingFile('etcd.cert', settings.cert) }),
    ...(settings.key === undefined ? {} : { key: readSettingFile('etcd.key', settings.key) }),
  };
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true, ...tls }) };
  const dialMs = settings.dialTimeoutSeconds * 1000;

  function once(
    endpoint: string,
    method: string,
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
    deadlineMs: number | undefined,
  ): Promise<V2Answer> {
    const url = new URL(path, endpoint);
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        url,
        {
          method,
          agent: secure ? agents.https : agents.http,
          ...(signal === undefined ? {} : { signal }),
          headers: {
            ...(auth === undefined ? {} : { authorization: auth }),
            ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              const parsed = JSON.parse(text) as V2Answer['body'];
              resolve({
                status: response.statusCode ?? 0,
                index: Number(response.headers['x-etcd-index'] ?? parsed.index ?? 0),
                body: parsed,
              });
            } catch {
              reject(
                new Error(
                  `HTTP ${response.statusCode ?? '?'} with a body that is not v2 JSON: ${text.slice(0, 200)}${response.statusCode === 404 ? ' (is etcd started with --enable-v2=true?)' : ''}`,
                ),
              );
            }
          });
        },
      );
      if (deadlineMs !== undefined)
        request.setTimeout(deadlineMs, () => request.destroy(new Error(`no answer within ${deadlineMs / 1000}s`)));
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Each endpoint once, on transport failures only: an HTTP answer, even an error, is etcd's word. */
  async function call(
    method: string,
    path: string,
    body?: string,
    signal?: AbortSignal,
    deadlineMs: number | undefined = dialMs,
  ): Promise<V2Answer> {
    let last: unknown;
    for (const endpoint of endpoints) {
      try {
        const answer = await once(endpoint, method, path, body, signal, deadlineMs);
        if (answer.status === 401 || answer.status === 403)
          throw new RolloutError(
            'E_ETCD_UNREACHABLE',
            `etcd at ${endpoint} refused access (${answer.body.message ?? `HTTP ${answer.status}`}): check etcd.username, etcd.passwordEnv and the etcd role grants`,
          );
        return answer;
      } catch (error) {
        if (error instanceof RolloutError || signal?.aborted) throw error;
        last = error;
      }
    }
    throw unreachableError(endpoints.join(', '), last, settings.username);
  }

  return {
    endpoints,
    get: (key, o = {}) => call('GET', `${keyPath(key)}?quorum=true${o.recursive ? '&recursive=true' : ''}`),
    put: (key, value, condition) => {
      const form = new URLSearchParams({
        value,
        ...('prevIndex' in condition ? { prevIndex: String(condition.prevIndex) } : { prevExist: 'false' }),
      });
      return call('PUT', keyPath(key), form.toString());
    },
    remove: (key, prevIndex) => call('DELETE', `${keyPath(key)}?prevIndex=${prevIndex}`),
    wait: (key, waitIndex, signal) =>
      call('GET', `${keyPath(key)}?wait=true&recursive=true&waitIndex=${waitIndex}`, undefined, signal, undefined),
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** Every leaf (value) node under a v2 node, depth first. */
export function leaves(node: V2Node | undefined): V2Node[] {
  if (node === undefined) return [];
  if (!node.dir) return node.value === undefined ? [] : [node];
  return (node.nodes ?? []).flatMap((child) => leaves(child));
}
