import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxDown, sandboxUp, startSshd, stopSshd } from '../../../scripts/lib/sandbox.mjs';
import type { SandboxHost, SandboxState } from '../../../scripts/lib/sandbox.mjs';
import { createCommandProbe } from '../../../src/health/command.js';
import { createCommandDrainProbe, createHttpDrainProbe } from '../../../src/health/drain.js';
import { createHttpProbe } from '../../../src/health/http.js';
import { createSshTransport } from '../../../src/transport/ssh.js';
import type { Transport } from '../../../src/transport/types.js';
import type { InventoryHost } from '../../../src/inventory/types.js';
import { testHost } from '../../unit/health/fixtures.js';
import { NETS } from '../../support/nets.js';

let dir: string;
let sandbox: SandboxState;
let transport: Transport;
// Why: a loopback /24 of its own, so this suite never collides with a running sandbox or another suite.
const subnet = NETS.probes;

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

/** The sandbox host with its real SSH settings and command probes. */
function sshHost(): InventoryHost {
  const base = testHost({
    name: fleetHost().name,
    address: fleetHost().address,
    drain: { statusCommand: 'curl -s "http://{address}:8080/fpm-status?json"' },
    health: { type: 'command', command: 'curl -sf http://{address}:8080/', requestTimeoutSeconds: 10 },
  });
  const ssh = {
    ...base.settings.ssh,
    port: fleetHost().sshPort,
    identityFile: sandbox.ssh.identityFile,
    knownHosts: sandbox.ssh.knownHosts,
  };
  return { ...base, settings: { ...base.settings, ssh } };
}

/** Starts requests that sleep in PHP-FPM workers; resolves once they all returned. */
function slowRequests(count: number, ms: number): Promise<unknown> {
  return Promise.all(
    Array.from({ length: count }, () => fetch(`${fleetHost().httpUrl}?sleep=${ms}`).then((r) => r.text())),
  );
}

describe('drain and health probes against a real PHP-FPM and sshd', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-health-test-'));
    sandbox = await sandboxUp({
      dir,
      dcs: ['eqiad'],
      clusters: ['appserver'],
      hostsPerCluster: 1,
      net: subnet,
      agents: false,
      release: 'r1',
    });
    transport = createSshTransport({ env: {} });
  }, 120_000);

  afterAll(async () => {
    await transport?.close();
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
    expect(await probe.check(hostFor('json'), { release: 'r2' })).toEqual({
      ok: false,
      detail: 'serves release r1, expected r2 (header X-Release)',
    });
  });

  it('runs the health command over SSH and finds the release in its output', async () => {
    const probe = createCommandProbe(transport);
    expect(await probe.check(sshHost(), { release: 'r1' })).toEqual({ ok: true, detail: 'exit 0, release r1' });
    expect((await probe.check(sshHost(), { release: 'r9' })).detail).toContain('does not print release r9');
  });

  it('reads the PHP-FPM status with a command over SSH', async () => {
    expect(await createCommandDrainProbe(transport).activeRequests(sshHost(), {})).toBe(0);
  });

  it('reports an unreachable sshd as a failed check', async () => {
    await transport.close();
    await stopSshd(fleetHost().name, { dir });
    try {
      const result = await createCommandProbe(transport).check(sshHost(), { release: undefined });
      expect(result.ok).toBe(false);
      expect(result.detail).toContain(fleetHost().name);
      expect(result.detail).toMatch(/refused|connect/i);
    } finally {
      await startSshd(fleetHost().name, { dir });
    }
  });
});
