import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { createHttpProbe } from '../../../src/health/http.js';
import { closedPort, startServer, testHost } from './fixtures.js';
import type { TestServer } from './fixtures.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/ok') return void res.end('pong');
    if (url.pathname === '/down') return void res.writeHead(503).end('busy');
    if (url.pathname === '/header')
      return void res.writeHead(200, { 'X-Release': url.searchParams.get('r') ?? '' }).end('{}');
    if (url.pathname === '/json')
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ release: 'r2', host: 'mw1' }));
    if (url.pathname === '/hang') return void setTimeout(() => res.end('late'), 5000);
    res.writeHead(404).end();
  });
});

afterAll(() => server.close());

const probe = createHttpProbe();

describe('createHttpProbe', () => {
  it('passes a host that answers the expected status', async () => {
    const host = testHost({ health: { url: `${server.base}/ok` } });
    expect(await probe.check(host, { release: undefined })).toEqual({ ok: true, detail: 'HTTP 200' });
  });

  it('fails a host that answers another status, naming the status and the url', async () => {
    const host = testHost({ health: { url: `${server.base}/down` } });
    expect(await probe.check(host, { release: undefined })).toEqual({
      ok: false,
      detail: `HTTP 503 from ${server.base}/down`,
    });
  });

  it('brackets an IPv6 address in the url, so a host on ::1 is reached', async () => {
    const v6 = http.createServer((_req, res) => res.end('pong'));
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    try {
      const { port } = v6.address() as AddressInfo;
      const host = testHost({ address: '::1', health: { url: `http://{address}:${port}/ok` } });
      expect(await probe.check(host, { release: undefined })).toEqual({ ok: true, detail: 'HTTP 200' });
    } finally {
      await new Promise<void>((resolve) => v6.close(() => resolve()));
    }
  });

  it('renders the url template with the host address and name', async () => {
    const host = testHost({
      address: '127.0.0.1',
      name: 'mw7.eqiad',
      health: { url: `http://{address}:${new URL(server.base).port}/ok?h={host}&dc={dc}` },
    });
    expect((await probe.check(host, { release: undefined })).ok).toBe(true);
    expect(server.requests).toContain('/ok?h=mw7.eqiad&dc=eqiad');
  });

  it('checks that the body contains the expected text', async () => {
    expect(
      (
        await probe.check(testHost({ health: { url: `${server.base}/ok`, expectBody: 'pong' } }), {
          release: undefined,
        })
      ).ok,
    ).toBe(true);
    const bad = await probe.check(testHost({ health: { url: `${server.base}/ok`, expectBody: 'OK' } }), {
      release: undefined,
    });
    expect(bad).toEqual({ ok: false, detail: `HTTP 200 from ${server.base}/ok without "OK" in the body` });
  });

  it('compares the release header with the expected release', async () => {
    const host = testHost({ health: { url: `${server.base}/header?r=r1`, releaseHeader: 'X-Release' } });
    expect(await probe.check(host, { release: 'r1' })).toEqual({ ok: true, detail: 'HTTP 200, release r1' });
    expect(await probe.check(host, { release: 'r2' })).toEqual({
      ok: false,
      detail: 'serves release r1, expected r2 (header X-Release)',
    });
  });

  it('reports a missing release header as serving no release', async () => {
    const host = testHost({ health: { url: `${server.base}/ok`, releaseHeader: 'X-Release' } });
    expect(await probe.check(host, { release: 'r2' })).toEqual({
      ok: false,
      detail: 'serves no release (header X-Release missing), expected r2',
    });
  });

  it('reads the release from a top-level JSON field', async () => {
    const host = testHost({ health: { url: `${server.base}/json`, releaseField: 'release' } });
    expect((await probe.check(host, { release: 'r2' })).ok).toBe(true);
    expect(await probe.check(host, { release: 'r3' })).toEqual({
      ok: false,
      detail: 'serves release r2, expected r3 (field release)',
    });
  });

  it('falls back to the JSON field when the configured header is absent', async () => {
    const host = testHost({
      health: { url: `${server.base}/json`, releaseHeader: 'X-Release', releaseField: 'release' },
    });
    expect((await probe.check(host, { release: 'r2' })).ok).toBe(true);
  });

  it('fails with "timed out" when the host does not answer within requestTimeoutSeconds', async () => {
    const host = testHost({ health: { url: `${server.base}/hang`, requestTimeoutSeconds: 0.3 } });
    expect(await probe.check(host, { release: undefined })).toEqual({
      ok: false,
      detail: `timed out after 0.3s (${server.base}/hang)`,
    });
  });

  it('fails with "connection refused" when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    expect(await probe.check(testHost({ health: { url } }), { release: undefined })).toEqual({
      ok: false,
      detail: `connection refused (${url})`,
    });
  });

  it("rethrows the caller's abort instead of reporting the host as failed", async () => {
    const controller = new AbortController();
    const pending = probe.check(testHost({ health: { url: `${server.base}/hang` } }), {
      release: undefined,
      signal: controller.signal,
    });
    controller.abort(new Error('interrupted'));
    await expect(pending).rejects.toThrow('interrupted');
  });

  it('throws E_USAGE when the host has no health url', async () => {
    const error: unknown = await probe.check(testHost(), { release: undefined }).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_USAGE')).toBe(true);
    expect(String(error)).toContain('mw1.eqiad: health.type is http but health.url is not set');
  });

  it('throws E_USAGE when a release is expected but no header or field names it', async () => {
    const error: unknown = await probe
      .check(testHost({ health: { url: `${server.base}/ok` } }), { release: 'r1' })
      .catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_USAGE')).toBe(true);
  });
});
