import http from 'node:http';
import https from 'node:https';

/** One HTTP answer, the body read as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  /** PEM text of the CA that signed the server's certificate (https only). */
  readonly ca?: string;
  readonly signal?: AbortSignal;
  /** A keep-alive agent, so a poller reuses one connection per server (http only). */
  readonly agent?: http.Agent;
}

// Why: a hook's or an API's answer is small; a huge one means the URL points at the wrong thing.
const MAX_BODY_BYTES = 4_000_000;

/**
 * Node's http(s) rather than fetch: fetch takes no CA without undici's dispatcher (another
 * dependency). The whole exchange, connect to last byte, is bounded by timeoutMs.
 */
export function httpRequest(request: HttpRequest): Promise<HttpAnswer> {
  const url = new URL(request.url);
  const secure = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      url,
      {
        method: request.method,
        headers: {
          ...(request.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(request.body)) }),
          ...request.headers,
        },
        ...(secure && request.ca !== undefined ? { ca: request.ca } : {}),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
        ...(request.agent === undefined || secure ? {} : { agent: request.agent }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${request.timeoutMs / 1000}s`)),
      request.timeoutMs,
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(request.body);
  });
}

/** `connect ECONNREFUSED 127.0.0.1:9093` rather than a stack: what went wrong, in a line. */
export function describeHttpError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
