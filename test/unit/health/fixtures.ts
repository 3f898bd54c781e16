import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthSettings, DrainSettings, InventoryHost } from '../../../src/inventory/types.js';

/** An inventory host with every setting filled; override health/drain fields per test. */
export function testHost(
  overrides: { name?: string; address?: string; health?: Partial<HealthSettings>; drain?: Partial<DrainSettings> } = {},
): InventoryHost {
  return {
    name: overrides.name ?? 'mw1.eqiad',
    address: overrides.address ?? '127.0.0.1',
    dc: 'eqiad',
    cluster: 'appserver',
    source: { file: 'inventory/test.yaml', line: 12, col: 9 },
    settings: {
      service: 'php-fpm',
      weight: 10,
      ssh: {
        user: 'root',
        port: 2201,
        identityFile: '/keys/id',
        knownHosts: '/keys/known_hosts',
        jumpHost: undefined,
        connectTimeoutSeconds: 5,
        acceptNewHostKeys: false,
      },
      restart: {
        command: 'systemctl restart php8.2-fpm',
        emergencyCommand: 'systemctl kill-restart php8.2-fpm',
        timeoutSeconds: 30,
      },
      drain: {
        mode: 'status',
        seconds: 0,
        timeoutSeconds: 15,
        statusUrl: undefined,
        statusCommand: undefined,
        intervalSeconds: 1,
        ...overrides.drain,
      },
      health: {
        type: 'http',
        url: undefined,
        command: undefined,
        expectStatus: 200,
        expectBody: undefined,
        releaseHeader: undefined,
        releaseField: undefined,
        attempts: 3,
        intervalSeconds: 1,
        timeoutSeconds: 10,
        requestTimeoutSeconds: 2,
        minHealthySeconds: 0,
        ...overrides.health,
      },
      lb: { propagationSeconds: 1, confirmTimeoutSeconds: 10, requireAgents: false, confirm: 'agents' },
    },
  };
}

export interface TestServer {
  readonly base: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 with a handler per test. */
export async function startServer(handler: http.RequestListener): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was just free: nothing listens on it. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
