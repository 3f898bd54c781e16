import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { sandboxDown, sandboxRelease, sandboxUp } from '../../scripts/lib/sandbox.mjs';
import type { SandboxHost, SandboxState } from '../../scripts/lib/sandbox.mjs';
import type { Kv } from '../../src/kv/kv.js';
import { connectEtcd } from '../../src/kv/etcd-kv.js';
import { etcdSettings } from '../support/etcd-settings.js';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, loadAll, pids, rollout, served, writeTestInventory } from './helpers.js';

let dir: string;
let work: string;
let sandbox: SandboxState;
let inventory: string;
let kv: Kv;

const poolKey = (h: SandboxHost): string => `/conftool/v1/pools/${h.dc}/${h.cluster}/php-fpm/${h.name}`;
const revisions = (): Promise<(number | undefined)[]> =>
  Promise.all(sandbox.hosts.map(async (h) => (await kv.get(poolKey(h)))?.modRevision));
const first = (): SandboxHost =>
  sandbox.hosts[0] ??
  (() => {
    throw new Error('no host');
  })();

/** Requests that stay in flight for `ms` on whatever master serves the host's public URL now; resolves their statuses. */
function longRequests(
  h: SandboxHost,
  count: number,
  ms: number,
): { done: Promise<number[]>; finishedAt: () => number } {
  let finished = 0;
  const done = Promise.all(
    Array.from({ length: count }, async () => {
      const res = await fetch(`${h.httpUrl}?sleep=${ms}`).catch(() => undefined);
      await res?.text();
      finished = Date.now();
      return res?.status ?? 0;
    }),
  );
  return { done, finishedAt: () => finished };
}

/** The inventory with restart.dualMaster.idleTimeout set to `seconds`. */
function idleTimeoutInventory(seconds: number): string {
  const file = path.join(work, `idle-${seconds}.yaml`);
  const doc = parseDocument(fs.readFileSync(inventory, 'utf8'));
  doc.setIn(['defaults', 'restart', 'dualMaster', 'idleTimeout'], seconds);
  fs.writeFileSync(file, doc.toString());
  return file;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-dm-'));
  sandbox = await sandboxUp({
    dir,
    dcs: ['eqiad'],
    clusters: ['appserver'],
    hostsPerCluster: 3,
    net: NETS.dualMaster,
    sshBasePort: 2730,
    release: 'r1',
    strategy: 'dual-master',
    agents: false,
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-dm-work-'));
  inventory = path.join(work, 'dual.yaml');
  writeTestInventory(sandbox, inventory);
  kv = await connectEtcd(etcdSettings(sandbox.etcd.endpoint));
}, 180_000);

afterAll(async () => {
  await kv?.close();
  if (dir) await sandboxDown({ dir });
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('restart.strategy: dual-master on a real sandbox fleet under load', () => {
  it('sync swaps every host to a new master serving the release, without a failed request or a pool write', async () => {
    await sandboxRelease('r2', [], { dir });
    const before = await pids(sandbox);
    const written = await revisions();
    const load = loadAll(sandbox);
    await new Promise((r) => setTimeout(r, 500));
    const result = await rollout(['sync', '--release', 'r2', '--json', '--reason', 'e2e'], inventory);
    const traffic = await load.stop();
    expectExit(result, 0);
    expect(traffic.failed, JSON.stringify(traffic.failures)).toBe(0);
    expect(traffic.ok).toBeGreaterThan(0);
    expect(await revisions()).toEqual(written);
    const after = await pids(sandbox);
    for (const h of sandbox.hosts) {
      expect(after.get(h.name), h.name).not.toBeNull();
      expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
      expect((await served(h))?.release, h.name).toBe('r2');
    }
    const evs = events(result.stdout);
    expect(evs.filter((e) => e['event'] === 'host.depooled')).toEqual([]);
    const switched = evs.filter((e) => e['event'] === 'host.switched');
    expect(switched.map((e) => e['host']).sort()).toEqual(sandbox.hosts.map((h) => h.name).sort());
    for (const e of switched) expect(e['master'], String(e['host'])).toBe(String(after.get(String(e['host']))));
  }, 180_000);

  it('a second sync right after waits until the now-dormant master has finished its requests', async () => {
    const h = first();
    const inFlight = longRequests(h, 2, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const firstRun = await rollout(['sync', '--reason', 'e2e'], inventory);
    expectExit(firstRun, 0);
    const second = await rollout(['sync', '--json', '--reason', 'e2e'], idleTimeoutInventory(40));
    expectExit(second, 0);
    expect(await inFlight.done).toEqual([200, 200]);
    const restarted = events(second.stdout).find((e) => e['event'] === 'host.restarted' && e['host'] === h.name);
    // The dormant master was restarted only once its last request had been answered.
    expect(Date.parse(String(restarted?.['time']))).toBeGreaterThanOrEqual(inFlight.finishedAt());
  }, 180_000);

  it('a second sync with a short idle timeout fails that host clearly and never cuts its requests', async () => {
    const h = first();
    const inFlight = longRequests(h, 2, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    expectExit(await rollout(['sync', '--reason', 'e2e'], inventory), 0);
    const serving = (await served(h))?.masterPid;
    const written = await revisions();
    const second = await rollout(['sync', '--json', '--reason', 'e2e'], idleTimeoutInventory(1));
    expectExit(second, 1);
    const failed = events(second.stdout).find((e) => e['event'] === 'host.failed');
    expect(failed).toMatchObject({ host: h.name, step: 'drain', code: 'E_DORMANT_BUSY', depooled: false });
    expect(String(failed?.['reason'])).toMatch(
      /dormant master [AB] still serves 2 request\(s\) of its previous term after 1s: not restarted/,
    );
    expect(await inFlight.done).toEqual([200, 200]);
    expect((await served(h))?.masterPid).toBe(serving);
    expect(await revisions()).toEqual(written);
  }, 180_000);
});
