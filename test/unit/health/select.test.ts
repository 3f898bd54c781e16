import { describe, expect, it } from 'vitest';
import { createProbes } from '../../../src/health/select.js';
import { fakeTransport } from './fake-transport.js';
import { testHost } from './fixtures.js';

function fakeFetch(body: string, seen: string[]): typeof fetch {
  return async (input) => {
    seen.push(String(input));
    return new Response(body, { status: 200 });
  };
}

describe('createProbes', () => {
  it('checks health over HTTP or SSH according to each host health.type', async () => {
    const seen: string[] = [];
    const transport = fakeTransport(() => ({ stdout: 'up' }));
    const { probe } = createProbes(transport, { fetch: fakeFetch('ok', seen) });
    await probe.check(testHost({ health: { type: 'http', url: 'http://{address}/ping' } }), { release: undefined });
    await probe.check(testHost({ health: { type: 'command', command: 'true' } }), { release: undefined });
    expect(seen).toEqual(['http://127.0.0.1/ping']);
    expect(transport.calls.map((c) => c.command)).toEqual(['true']);
  });

  it('reads drain status with the statusCommand when one is set, else from statusUrl', async () => {
    const seen: string[] = [];
    const status = JSON.stringify({ 'active processes': 3 });
    const transport = fakeTransport(() => ({ stdout: status }));
    const { drain } = createProbes(transport, { fetch: fakeFetch(status, seen) });
    expect(await drain.activeRequests(testHost({ drain: { statusUrl: 'http://{address}/fpm-status?json' } }), {})).toBe(
      2,
    );
    expect(await drain.activeRequests(testHost({ drain: { statusCommand: 'fpm-status' } }), {})).toBe(2);
    expect(seen).toEqual(['http://127.0.0.1/fpm-status?json']);
    expect(transport.calls.map((c) => c.command)).toEqual(['fpm-status']);
  });
});
