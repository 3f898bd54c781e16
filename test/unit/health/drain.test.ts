import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolloutError, isRolloutError } from '../../../src/errors.js';
import { createCommandDrainProbe, createHttpDrainProbe } from '../../../src/health/drain.js';
import { activeRequests, parseFpmStatus } from '../../../src/health/fpm-status.js';
import type { FpmStatus } from '../../../src/health/fpm-status.js';
import { fakeTransport } from './fake-transport.js';
import { closedPort, startServer, testHost } from './fixtures.js';
import type { TestServer } from './fixtures.js';

// Canned from a real php-fpm 8.2 (sandbox): idle pool, the status request is the one active process.
const idle = {
  pool: 'app',
  'process manager': 'static',
  'idle processes': 3,
  'active processes': 1,
  'total processes': 4,
};
const busyFull = {
  ...idle,
  'idle processes': 1,
  'active processes': 3,
  processes: [
    { pid: 1, state: 'Running', 'request uri': '/fpm-status?json&full' },
    { pid: 2, state: 'Idle', 'request uri': '/fpm-status?json' },
    { pid: 3, state: 'Running', 'request uri': '/index.php?sleep=3000' },
    { pid: 4, state: 'Running', 'request uri': '/index.php?sleep=3000' },
  ],
};

let server: TestServer;
beforeAll(async () => {
  server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/fpm-status')
      return void res.end(JSON.stringify(url.searchParams.has('full') ? busyFull : idle));
    if (url.pathname === '/html') return void res.end('<html>pool: app</html>');
    res.writeHead(404).end('not found');
  });
});
afterAll(() => server.close());

const hostWith = (statusUrl: string) => testHost({ drain: { statusUrl } });

describe('createHttpDrainProbe', () => {
  it("subtracts the status request itself from PHP-FPM's active processes", async () => {
    expect(await createHttpDrainProbe().activeRequests(hostWith(`${server.base}/fpm-status?json`), {})).toBe(0);
  });

  it('with &full, counts busy workers that are not serving the status page', async () => {
    expect(await createHttpDrainProbe().activeRequests(hostWith(`${server.base}/fpm-status?json&full`), {})).toBe(2);
  });

  it('throws E_DRAIN naming the host and url on an HTTP error', async () => {
    const error: unknown = await createHttpDrainProbe()
      .activeRequests(hostWith(`${server.base}/nope?json`), {})
      .catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_DRAIN')).toBe(true);
    expect((error as RolloutError).host).toBe('mw1.eqiad');
    expect(String(error)).toContain(`mw1.eqiad: cannot read PHP-FPM status from ${server.base}/nope?json: HTTP 404`);
  });

  it('throws E_DRAIN when the page is not the JSON status', async () => {
    const error: unknown = await createHttpDrainProbe()
      .activeRequests(hostWith(`${server.base}/html`), {})
      .catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_DRAIN')).toBe(true);
    expect(String(error)).toContain('not JSON');
  });

  it('throws E_DRAIN when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/fpm-status?json`;
    const error: unknown = await createHttpDrainProbe()
      .activeRequests(hostWith(url), {})
      .catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_DRAIN')).toBe(true);
    expect(String(error)).toContain(`${url}: connection refused`);
  });
});

describe('createCommandDrainProbe', () => {
  it('parses the JSON the status command prints and subtracts its own request', async () => {
    const transport = fakeTransport(() => ({ stdout: JSON.stringify({ ...idle, 'active processes': 4 }) }));
    const host = testHost({ drain: { statusCommand: 'curl -s http://localhost/fpm-status?json' } });
    expect(await createCommandDrainProbe(transport).activeRequests(host, {})).toBe(3);
    expect(transport.calls[0]?.command).toBe('curl -s http://localhost/fpm-status?json');
  });

  it('throws E_DRAIN with the command when it exits non-zero or cannot connect', async () => {
    const host = testHost({ drain: { statusCommand: 'fpm-status' } });
    const failed: unknown = await createCommandDrainProbe(fakeTransport(() => ({ exitCode: 7, stderr: 'refused' })))
      .activeRequests(host, {})
      .catch((e: unknown) => e);
    expect(String(failed)).toContain('mw1.eqiad: cannot read PHP-FPM status from `fpm-status`: exited 7: refused');
    const unreachable: unknown = await createCommandDrainProbe(
      fakeTransport(() => new RolloutError('E_SSH_CONNECT', 'no route')),
    )
      .activeRequests(host, {})
      .catch((e: unknown) => e);
    expect(isRolloutError(unreachable, 'E_DRAIN')).toBe(true);
    expect((unreachable as Error).cause).toBeInstanceOf(RolloutError);
  });
});

describe('activeRequests', () => {
  it('never goes below zero', () => {
    expect(activeRequests({ 'active processes': 0 }, undefined)).toBe(0);
  });

  it('subtracts one busy worker when no busy worker serves the known status path (a rewritten path)', () => {
    const status = parseFpmStatus(JSON.stringify(busyFull)) as FpmStatus;
    expect(activeRequests(status, '/status')).toBe(2);
  });
});
