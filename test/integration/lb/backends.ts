import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Loopback HTTP servers standing in for app servers; `/hold` stays open until release(). */
export interface TestBackends {
  readonly addresses: string[];
  release(): void;
  close(): Promise<void>;
}

export async function startBackends(count: number): Promise<TestBackends> {
  const held: http.ServerResponse[] = [];
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<http.Server>((resolve) => {
          const server = http.createServer((req, res) => {
            if (req.url === '/hold') held.push(res);
            else res.end('ok');
          });
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  return {
    addresses: servers.map((s) => `127.0.0.1:${(s.address() as AddressInfo).port}`),
    release() {
      for (const res of held.splice(0)) res.end('released');
    },
    async close() {
      for (const res of held.splice(0)) res.end();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
