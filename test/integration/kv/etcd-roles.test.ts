// etcd least privilege on a real etcd with auth on: the three roles of docs/etcd.md, created by the
// very commands on that page, and each client doing its job with its own user, and no more.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realSleep } from '../../../src/deps.js';
import { connectEtcd } from '../../../src/kv/etcd-kv.js';
import type { Kv } from '../../../src/kv/kv.js';
import { runLbAgent } from '../../../src/lb/agent.js';
import { createHaproxyRuntime } from '../../../src/lb/haproxy.js';
import { appliedKey, type AppliedValue } from '../../../src/lb/keys.js';
import { poolKeyPath } from '../../../src/pool/store.js';
import { inventoryYaml, PREFIX, poolKey, rollout, scratch, writeFile } from '../../cli/cli.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { etcdSettings } from '../../support/etcd-settings.js';
import { expectExit } from '../../support/explain.js';
import { startHaproxy, type TestHaproxy } from '../../support/haproxy.js';
import { startBackends, type TestBackends } from '../lb/backends.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PASSWORDS = {
  ROLLOUT_OPERATOR_PASSWORD: 'op-secret',
  ROLLOUT_LB_PASSWORD: 'lb-secret',
  ROLLOUT_STATUS_PASSWORD: 'status-secret',
  ETCD_ROOT_PASSWORD: 'root-secret',
};
const H = (n: number): string => `mw100${n}.eqiad.wmnet`;
const HOSTS = [H(1), H(2), H(3), H(4)];
const keyOf = (host: string): string => poolKeyPath(PREFIX, poolKey('eqiad', 'appserver', host));

let etcd: TestEtcd;
let haproxy: TestHaproxy;
let backends: TestBackends;
let root: Kv;
let dir: string;
let remove: () => void;

/** The shell block of docs/etcd.md that creates the roles, exactly as a reader would paste it. */
function documentedCommands(): string {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/etcd.md'), 'utf8');
  const block = /```sh\n(# rollout-roles[^\n]*\n[\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/etcd.md: no ```sh block starting with "# rollout-roles"');
  return block;
}

/** A client as `user`, its password in the variable the inventory names (as rollout reads it). */
const as = (user: string, password: string): Promise<Kv> =>
  connectEtcd(etcdSettings(etcd.endpoint, { username: user, passwordEnv: 'PW' }), { env: { PW: password } });

/** The CLI as `user`: an inventory naming the user, its password in ROLLOUT_ETCD_PASSWORD. */
function cliAs(user: string, password: string) {
  const inventory = writeFile(
    dir,
    `${user}.yaml`,
    inventoryYaml(etcd.endpoint, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1004].eqiad.wmnet' }]).replace(
      '  dialTimeout: 3\n',
      `  dialTimeout: 3\n  username: ${user}\n  passwordEnv: ROLLOUT_ETCD_PASSWORD\n`,
    ),
  );
  return (...args: string[]) =>
    rollout([...args, '-i', inventory], { cwd: dir, env: { ROLLOUT_ETCD_PASSWORD: password } });
}

const pooledOf = async (host: string): Promise<unknown> =>
  JSON.parse((await root.get(keyOf(host)))?.value ?? 'null')?.pooled;

beforeAll(async () => {
  [etcd, backends] = await Promise.all([startEtcd(), startBackends(4)]);
  ({ dir, remove } = scratch());
  const open = await connectEtcd(etcdSettings(etcd.endpoint));
  for (const host of HOSTS) await open.put(keyOf(host), JSON.stringify({ pooled: 'yes', weight: 10 }));
  await open.close();
  execFileSync('/bin/sh', ['-e', '-c', documentedCommands()], {
    env: { PATH: process.env['PATH'], ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: etcd.endpoint, ...PASSWORDS },
    encoding: 'utf8',
  });
  root = await as('root', PASSWORDS.ETCD_ROOT_PASSWORD);
  haproxy = await startHaproxy({
    backends: {
      eqiad_appserver: HOSTS.map((name, i) => ({ name, address: backends.addresses[i] ?? '' })),
    },
  });
}, 120_000);
afterAll(async () => {
  await root?.close();
  await Promise.all([haproxy?.stop(), etcd?.stop(), backends?.close()]);
  remove?.();
});

describe('etcd with auth on and the three documented roles', { timeout: 120_000 }, () => {
  it('refuses a client without a user: auth is really on', async () => {
    await expect(connectEtcd(etcdSettings(etcd.endpoint))).rejects.toThrow(/without a username/);
  });

  it('lets the operator depool and repool a host with `rollout pool`', async () => {
    const operator = cliAs('rollout', PASSWORDS.ROLLOUT_OPERATOR_PASSWORD);
    const depool = await operator('depool', H(1), '--reason', 'roles test');
    expectExit(depool, 0);
    expect(await pooledOf(H(1))).toBe('no');
    const repool = await operator('pool', H(1), '--reason', 'roles test');
    expectExit(repool, 0);
    expect(await pooledOf(H(1))).toBe('yes');
  });

  it('lets the LB agent follow the pool into HAProxy and confirm, and refuses it any pool-key write', async () => {
    const lb = await as('lb1001', PASSWORDS.ROLLOUT_LB_PASSWORD);
    const stop = new AbortController();
    const runtime = createHaproxyRuntime(haproxy.socket);
    const agent = runLbAgent(
      { kv: lb, haproxy: runtime, log: pino({ level: 'silent' }), sleep: realSleep, now: () => Date.now() },
      {
        dc: 'eqiad',
        prefix: PREFIX,
        agentId: 'lb1001',
        haproxySocket: haproxy.socket,
        signal: stop.signal,
        tickMs: 100,
        retryBaseMs: 100,
        retryMaxMs: 1000,
        maintAfterMs: 60_000,
      },
    );
    try {
      const operator = cliAs('rollout', PASSWORDS.ROLLOUT_OPERATOR_PASSWORD);
      expectExit(await operator('depool', H(2), '--reason', 'roles test'), 0);
      const depooledAt = (await root.get(keyOf(H(2))))?.modRevision;
      const applied = async (): Promise<AppliedValue | undefined> => {
        const entry = await root.get(appliedKey('lb1001', poolKey('eqiad', 'appserver', H(2))));
        return entry ? (JSON.parse(entry.value) as AppliedValue) : undefined;
      };
      await expect.poll(async () => (await applied())?.revision, { timeout: 20_000, interval: 100 }).toBe(depooledAt);
      const server = (await runtime.showServersState('eqiad_appserver')).find((s) => s.server === H(2));
      expect(server?.admin).toBe('maint');
      // Its role reads the pool keys and writes only its own LB keys.
      await expect(lb.put(keyOf(H(3)), JSON.stringify({ pooled: 'no', weight: 10 }))).rejects.toThrow(
        /permission denied/i,
      );
      await expect(lb.put(appliedKey('lb2001', poolKey('eqiad', 'appserver', H(3))), '{}')).rejects.toThrow(
        /permission denied/i,
      );
      expect(await pooledOf(H(3))).toBe('yes');
      expectExit(await operator('pool', H(2), '--reason', 'roles test'), 0);
    } finally {
      stop.abort();
      await agent.catch(() => undefined);
      await lb.close();
    }
  });

  it('lets the status user run `rollout status` and refuses it `rollout pool depool`, changing nothing', async () => {
    const status = cliAs('rollout-status', PASSWORDS.ROLLOUT_STATUS_PASSWORD);
    const shown = await status('status', '--json');
    expectExit(shown, 0);
    const rows = JSON.parse(shown.stdout) as { host: string; pooled: string }[];
    expect(rows.map((r) => r.host).sort()).toEqual(HOSTS);
    const before = (await root.get(keyOf(H(3))))?.modRevision;
    const depool = await status('depool', H(3), '--reason', 'not allowed');
    expect(depool.code).not.toBe(0);
    expect(`${depool.stdout}${depool.stderr}`).toMatch(/permission denied/i);
    expect((await root.get(keyOf(H(3))))?.modRevision).toBe(before);
  });
});
