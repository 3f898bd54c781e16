import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxDown, sandboxUp } from '../../../scripts/lib/sandbox.mjs';
import type { SandboxHost, SandboxState } from '../../../scripts/lib/sandbox.mjs';
import { createHttpDrainProbe } from '../../../src/health/drain.js';
import { createHttpProbe } from '../../../src/health/http.js';
import { testHost } from '../../unit/health/fixtures.js';

let dir: string;
let sandbox: SandboxState;
// Why: a loopback /24 of its own, so this suite never collides with a running sandbox or another suite.
const subnet = `127.0.${100 + ((process.pid + 75) % 150)}`;

function fleetHost(): SandboxHost {
  const h = sandbox.hosts[0];
  if (!h) throw new Error('sandbox has no host');
  return h;
}

function hostFor(statusQuery: string) {
  return testHost({
    name: fleetHost().name,
    address: fleetHost().address,
    drain: { statusUrl: `http://{address}:8080/fpm-status?${statusQuery}` },
    health: { url: 'http://{address}:8080/', releaseHeader: 'X-Release' },
  });
}

/** Starts requests that sleep in PHP-FPM workers; resolves once they all returned. */
function slowRequests(count: number, ms: number): Promise<unknown> {
  return Promise.all(Array.from({ length: count }, () => fetch(`${fleetHost().httpUrl}?sleep=${ms}`).then((r) => r.text())));
}

describe('drain and health probes against a real PHP-FPM', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-health-test-'));
    sandbox = await sandboxUp({ dir, dcs: ['eqiad'], clusters: ['appserver'], hostsPerCluster: 1, net: subnet, agents: false, release: 'r1' });
  }, 120_000);

  afterAll(async () => {
    if (dir && fs.existsSync(dir)) await sandboxDown({ dir });
  }, 60_000);

  it('reports no active request on an idle pool, although PHP-FPM counts the status request', async () => {
    const raw = (await (await fetch(`${fleetHost().httpUrl}fpm-status?json`)).json()) as Record<string, unknown>;
    expect(raw['active processes']).toBe(1);
    expect(await createHttpDrainProbe().activeRequests(hostFor('json'), {})).toBe(0);
    expect(await createHttpDrainProbe().activeRequests(hostFor('json&full'), {})).toBe(0);
  });

  it('counts requests in flight, with and without &full, and none once they finished', async () => {
    const done = slowRequests(2, 6000);
    const probe = createHttpDrainProbe();
    await expect.poll(() => probe.activeRequests(hostFor('json'), {}), { timeout: 5000, interval: 100 }).toBe(2);
    expect(await probe.activeRequests(hostFor('json&full'), {})).toBe(2);
    await done;
    expect(await probe.activeRequests(hostFor('json'), {})).toBe(0);
  });

  it('passes the HTTP health check with the release the host serves and fails another one', async () => {
    const probe = createHttpProbe();
    expect(await probe.check(hostFor('json'), { release: 'r1' })).toEqual({ ok: true, detail: 'HTTP 200, release r1' });
    expect(await probe.check(hostFor('json'), { release: 'r2' })).toEqual({ ok: false, detail: 'serves release r1, expected r2 (header X-Release)' });
  });
});
