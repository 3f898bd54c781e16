// `rollout lb-agent` as a daemon, as a real child process on real etcd and HAProxy: health, metrics, signals.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentKey, appliedKey } from '../../../src/lb/keys.js';
import type { Kv } from '../../../src/kv/kv.js';
import { BIN, connect, inventoryYaml, poolKey, PREFIX, rollout, scratch, writeFile } from '../../cli/cli.js';
import { poolKeyPath } from '../../../src/pool/store.js';
import { startEtcd, type TestEtcd } from '../../support/etcd.js';
import { startHaproxy, type TestHaproxy } from '../../support/haproxy.js';

const HOST = 'mw1001.eqiad.wmnet';
const key = poolKey('eqiad', 'appserver', HOST);
let etcd: TestEtcd;
let haproxy: TestHaproxy;
let kv: Kv;
let dir: string;
let remove: () => void;
let inventory: string;

interface Agent {
  readonly child: ChildProcess;
  readonly url: string;
  log(): string;
  exit: Promise<number | null>;
}
let running: Agent | undefined;

async function startAgent(id: string): Promise<Agent> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'lb-agent',
      '--dc',
      'eqiad',
      '-i',
      inventory,
      '--haproxy-socket',
      haproxy.socket,
      '--agent-id',
      id,
      '--http',
      '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no /healthz url in the agent's log:\n${log}`)), 20_000);
    const look = (): void => {
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      } else setTimeout(look, 50);
    };
    look();
  });
  running = { child, url, log: () => log, exit };
  return running;
}

const get = async (url: string): Promise<{ status: number; body: string }> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
};

beforeAll(async () => {
  etcd = await startEtcd();
  haproxy = await startHaproxy({ backends: { eqiad_appserver: [{ name: HOST, address: '127.0.0.1:9' }] } });
  kv = await connect(etcd.endpoint);
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml(etcd.endpoint, [{ dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1002].eqiad.wmnet' }]),
  );
  await kv.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'yes', weight: 10 }));
});
afterEach(async () => {
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGTERM');
    await running.exit;
  }
  running = undefined;
});
afterAll(async () => {
  await kv?.close();
  await Promise.all([haproxy?.stop(), etcd?.stop()]);
  remove?.();
});

describe('rollout lb-agent --http', { timeout: 120_000 }, () => {
  it('answers /healthz, and /readyz turns 503 while etcd is stopped and 200 again once it is back', async () => {
    const agent = await startAgent('lb-ready');
    await expect.poll(async () => (await get(`${agent.url}/readyz`)).status, { timeout: 20_000 }).toBe(200);
    expect((await get(`${agent.url}/healthz`)).status).toBe(200);
    etcd.kill('SIGSTOP');
    try {
      await expect
        .poll(async () => (await get(`${agent.url}/readyz`)).status, { timeout: 30_000, interval: 500 })
        .toBe(503);
      expect((await get(`${agent.url}/readyz`)).body).toMatch(/^not ready: /);
      // The loop still turns: alive, just not ready.
      expect((await get(`${agent.url}/healthz`)).status).toBe(200);
    } finally {
      etcd.kill('SIGCONT');
    }
    await expect
      .poll(async () => (await get(`${agent.url}/readyz`)).status, { timeout: 30_000, interval: 500 })
      .toBe(200);
  });

  it('counts a depool and its apply latency in /metrics', async () => {
    const agent = await startAgent('lb-metrics');
    await expect.poll(async () => (await get(`${agent.url}/readyz`)).status, { timeout: 20_000 }).toBe(200);
    const revision = await kv.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'no', weight: 10 }));
    await expect
      .poll(async () => JSON.parse((await kv.get(appliedKey('lb-metrics', key)))?.value ?? '{}').revision, {
        timeout: 10_000,
      })
      .toBe(revision);
    const metrics = (await get(`${agent.url}/metrics`)).body;
    expect(metrics).toMatch(/^rollout_lb_agent_pool_changes_total\{result="applied"\} [1-9]/m);
    expect(metrics).toMatch(/^rollout_lb_agent_apply_latency_seconds_count [1-9]/m);
    expect(metrics).toMatch(
      new RegExp(
        `^rollout_lb_agent_server_weight\\{backend="eqiad_appserver",server="${HOST.replace(/\./g, '\\.')}",pooled="no"\\} 10`,
        'm',
      ),
    );
    expect(metrics).toMatch(/^rollout_lb_agent_ready 1/m);
    const status = await rollout(['status', '-i', inventory], { cwd: dir });
    expect(status.stdout).toMatch(/eqiad: lb-metrics on \S+, since \S+, applied up to revision \d+, caught up/);
    await kv.put(poolKeyPath(PREFIX, key), JSON.stringify({ pooled: 'yes', weight: 10 }));
  });

  it('removes its registration at once on SIGTERM, not after the lease, and exits 0', async () => {
    const agent = await startAgent('lb-term');
    await expect
      .poll(async () => (await kv.get(agentKey('eqiad', 'lb-term'))) !== null, { timeout: 20_000 })
      .toBe(true);
    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
    // Read right after the exit: an expiring lease would keep the key for up to 10 s more; a revoked one has taken it.
    expect(await kv.get(agentKey('eqiad', 'lb-term'))).toBeNull();
  });

  it('keeps running on SIGHUP with a broken inventory, and says why in its log', async () => {
    const agent = await startAgent('lb-hup');
    await expect.poll(async () => (await get(`${agent.url}/readyz`)).status, { timeout: 20_000 }).toBe(200);
    const good = fs.readFileSync(inventory, 'utf8');
    fs.writeFileSync(inventory, 'datacenters: [this is not an inventory\n');
    try {
      agent.child.kill('SIGHUP');
      await expect
        .poll(() => agent.log(), { timeout: 10_000 })
        .toMatch(/SIGHUP: the inventory is not usable \(.*inventory\.yaml.*\); keeping the running configuration/);
      expect(agent.child.exitCode).toBeNull();
      expect((await get(`${agent.url}/readyz`)).status).toBe(200);
      expect(await kv.get(agentKey('eqiad', 'lb-hup'))).not.toBeNull();
    } finally {
      fs.writeFileSync(inventory, good);
    }
  });
});
