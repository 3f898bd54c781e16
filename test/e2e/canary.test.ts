import { describe, expect, it } from 'vitest';
import { sandboxRelease } from '../../scripts/lib/sandbox.mjs';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, loadAll, pids, rollout } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

const fx = useSandbox(
  'canary',
  { dcs: ['eqiad'], clusters: ['appserver'], hostsPerCluster: 4, net: NETS.canary, sshBasePort: 2760, release: 'r1' },
  (doc, sandbox) => {
    doc.setIn(
      ['datacenters', 'eqiad', 'clusters', 'appserver', 'canary'],
      doc.createNode({
        batch: 1,
        soakSeconds: 8,
        gate: {
          haproxyStats: {
            socket: sandbox.haproxy.socket,
            backend: '{dc}_{cluster}',
            maxErrorRatio: 0.05,
            maxIncrease: 0.02,
            minRequests: 50,
          },
        },
      }),
    );
  },
);

type Check = { gate: string; ok: boolean; detail: string; figures: Record<string, number> };

describe('the canary gate on real HAProxy error rates', () => {
  it('stops after the canary batch of a release that fails 20% of requests: exit 1, the measured ratio, no other host restarted', async () => {
    await sandboxRelease('bad-20', [], { dir: fx.sandbox.dir });
    const before = await pids(fx.sandbox);
    const load = loadAll(fx.sandbox);
    // The text reporter: its summary must show the figures the gate saw.
    const r = await rollout(['sync', '--release', 'bad-20'], fx.inventory, 180_000);
    await load.stop();
    expectExit(r, 1);
    const line =
      /canary gate FAILED, no further batch: haproxyStats FAILED: canaries (\d+\.\d+)% \((\d+)\/(\d+)\) 5xx[^\n]*/.exec(
        r.stdout,
      );
    expect(line, r.stdout).not.toBeNull();
    const [ratio, responses] = [Number(line?.[1]) / 100, Number(line?.[3])];
    // 20% of the canary's responses, give or take the randomness of a few hundred requests.
    expect(ratio).toBeGreaterThan(0.1);
    expect(ratio).toBeLessThan(0.3);
    expect(responses).toBeGreaterThanOrEqual(50);
    const after = await pids(fx.sandbox);
    const restarted = fx.sandbox.hosts.filter((h) => after.get(h.name) !== before.get(h.name)).map((h) => h.name);
    expect(restarted).toHaveLength(1);
    expect(r.stdout).toMatch(new RegExp(`canaries ${restarted[0]} repooled: soaking 8s`));
    // The canary stays as it is, restarted and pooled; nothing is left depooled.
    for (const e of await fx.kv.list('/conftool/v1/pools/eqiad/'))
      expect(JSON.parse(e.value), e.key).toMatchObject({ pooled: 'yes' });
    // The summary says the rest never started and shows the gate's figures.
    const summary = r.stdout.slice(r.stdout.lastIndexOf('exit 1'));
    expect(summary).toContain('not started: 3 hosts of appserver@eqiad');
    expect(summary.slice(summary.indexOf('warnings:'))).toContain(line?.[0] ?? '?');
    process.stdout.write(`canary e2e (bad-20): ${line?.[0]}\n`);
  }, 240_000);

  it('passes the gate with a good release and restarts the whole cluster', async () => {
    await sandboxRelease('r2', [], { dir: fx.sandbox.dir });
    const before = await pids(fx.sandbox);
    const load = loadAll(fx.sandbox);
    const r = await rollout(['sync', '--release', 'r2', '--json'], fx.inventory, 180_000);
    await load.stop();
    expectExit(r, 0);
    const passed = events(r.stdout).filter((e) => e.event === 'canary.passed');
    expect(passed).toHaveLength(1);
    const check = (passed[0]?.['checks'] as Check[])[0];
    expect(check?.figures['canaryRatio']).toBe(0);
    const after = await pids(fx.sandbox);
    for (const h of fx.sandbox.hosts) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
    process.stdout.write(`canary e2e (r2): ${check?.detail}\n`);
  }, 240_000);

  it('with --skip-canary-gate restarts a bad release everywhere and records the skip in the log', async () => {
    await sandboxRelease('bad-20', [], { dir: fx.sandbox.dir });
    const r = await rollout(['sync', '--release', 'bad-20', '--skip-canary-gate', '--json'], fx.inventory, 180_000);
    expectExit(r, 0);
    expect(
      events(r.stdout)
        .filter((e) => e.event === 'canary.skipped')
        .map((e) => e['reason']),
    ).toEqual(['--skip-canary-gate']);
    const logFile = /log: (.*)/.exec(r.stderr)?.[1] ?? '';
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(logFile, 'utf8')).toMatch(/canary gate skipped \(--skip-canary-gate\)/);
  }, 240_000);
});
