import http from 'node:http';
import { RolloutError } from '../errors.js';
import type { AgentMetrics } from './metrics.js';
import type { AgentHealth } from './observe.js';

export interface AgentHttp {
  /** `http://host:port`, the port as bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** `127.0.0.1:9412` or `[::1]:9412` → host and port; a usage error names the flag otherwise. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new RolloutError('E_USAGE', `--http ${JSON.stringify(value)}: expected HOST:PORT, e.g. 127.0.0.1:9412`, {
      where: '--http',
    });
  }
  return { host, port };
}

/**
 * The agent's endpoints: `/healthz` (200 while the loop turns), `/readyz` (200 when registered,
 * watching etcd and the last reconcile succeeded; 503 with the reason otherwise) and `/metrics`.
 */
export async function startAgentHttp(
  listen: { host: string; port: number },
  health: AgentHealth,
  metrics: AgentMetrics,
  options: { now: () => number; staleMs: number },
): Promise<AgentHttp> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') {
      if (health.alive(options.now(), options.staleMs)) text(200, 'ok\n');
      else text(503, 'the agent loop has not run recently\n');
    } else if (path === '/readyz') {
      const why = health.notReady();
      if (why === undefined) text(200, 'ready\n');
      else text(503, `not ready: ${why}\n`);
    } else if (path === '/metrics') {
      metrics.setReady(health.notReady() === undefined);
      metrics.registry.metrics().then(
        (body) => text(200, body, metrics.registry.contentType),
        (error: unknown) => text(500, String(error)),
      );
    } else {
      text(404, 'not found: try /healthz, /readyz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new RolloutError('E_USAGE', `--http ${listen.host}:${listen.port}: cannot listen (${error.message})`, {
          where: '--http',
          cause: error,
        }),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
