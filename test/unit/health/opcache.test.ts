import { describe, expect, it } from 'vitest';
import { createOpcacheProbe, opcachePercent } from '../../../src/health/opcache.js';
import type { Transport } from '../../../src/transport/types.js';
import { fleet } from '../../support/fleet.js';

const status = (used: number, free: number, wasted: number): string =>
  JSON.stringify({
    opcache_enabled: true,
    memory_usage: { used_memory: used, free_memory: free, wasted_memory: wasted },
  });
const noTransport: Transport = {
  exec: () => Promise.reject(new Error('no ssh here')),
  reach: () => Promise.reject(new Error('no ssh here')),
  release: () => undefined,
  close: async () => {},
};

describe('opcache figures', () => {
  it('count wasted memory as used, since only a restart gives it back', () => {
    expect(opcachePercent(status(60, 30, 10))).toBe(70);
  });

  it('say why a body is not opcache_get_status()', () => {
    expect(opcachePercent('false')).toMatch(/returned false: is the opcache enabled/);
    expect(opcachePercent('<html>')).toMatch(/^not JSON/);
    expect(opcachePercent('{"memory_usage":{}}')).toMatch(/no memory_usage/);
  });

  it('are read from restart.opcache.url, and an HTTP error names the host and the url', async () => {
    const built = fleet()
      .cluster('appserver', 1, {
        settings: {
          restart: { opcache: { url: 'http://{address}/opcache', command: undefined, thresholdPercent: 80 } },
        },
      })
      .build();
    const host = built.inventory.datacenters[0]!.clusters[0]!.hosts[0]!;
    const ok = createOpcacheProbe(noTransport, { fetch: async () => new Response(status(1, 3, 0)) });
    expect(await ok.usedPercent(host, {})).toBe(25);
    const down = createOpcacheProbe(noTransport, { fetch: async () => new Response('no', { status: 503 }) });
    await expect(down.usedPercent(host, {})).rejects.toThrow(
      `${host.name}: cannot read the opcache figures from http://${host.address}/opcache: HTTP 503`,
    );
  });
});
