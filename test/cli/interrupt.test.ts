import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { sandboxDown, sandboxUp, type SandboxState } from '../../scripts/lib/sandbox.mjs';
import type { Kv } from '../../src/kv/kv.js';
import { lockKey } from '../../src/coordination/keys.js';
import { BIN, connect, rollout, valueOf, type CliResult } from './cli.js';
import { etcdctl } from '../support/etcd-settings.js';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';

// Ctrl-C during a real rolling restart (sandbox: sshd, PHP-FPM, etcd on loopback).
// Why: a /24 of its own, apart from the other sandbox suites (127.0.100-249).
const subnet = NETS.interrupt;
let dir: string;
let sandbox: SandboxState;
let kv: Kv;
let inventory: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-cli-sigint-'));
  sandbox = await sandboxUp({
    dir: path.join(dir, 'sandbox'),
    dcs: ['eqiad'],
    clusters: ['appserver'],
    hostsPerCluster: 3,
    net: subnet,
    agents: false,
    install: false,
  });
  kv = await connect(sandbox.etcd.endpoint);
  // Why: a restart that takes 2 s is a running step a signal can land in (the sandbox's takes milliseconds).
  const doc = parse(fs.readFileSync(sandbox.inventoryFile, 'utf8')) as { defaults: { restart: { command: string } } };
  doc.defaults.restart.command = `sleep 2 && ${doc.defaults.restart.command}`;
  inventory = path.join(dir, 'inventory.yaml');
  fs.writeFileSync(inventory, stringify(doc));
}, 120_000);
afterAll(async () => {
  await kv?.close();
  if (sandbox) await sandboxDown({ dir: sandbox.dir });
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

/**
 * Starts `rollout sync --json` and, once the first host is drained (its restart is running),
 * sends SIGINT; with `twice`, a second SIGINT once the first was acknowledged on stderr.
 */
function interruptedSync(twice: boolean): Promise<CliResult & { host: string }> {
  return syncUntilDrained((child) => child.kill('SIGINT'), twice);
}

/** `rollout sync --json --batch-size 1`, calling `act` once the first host is drained (its restart is running). */
function syncUntilDrained(
  act: (child: ReturnType<typeof spawn>) => void,
  twice = false,
): Promise<CliResult & { host: string }> {
  const env = { PATH: process.env['PATH'], HOME: dir, USER: 'tester', XDG_STATE_HOME: path.join(dir, 'state') };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'sync', '--json', '--batch-size', '1', '-i', inventory], {
      cwd: dir,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    let host = '';
    let second = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /"event":"host\.drained"[^\n]*"host":"([^"]+)"/.exec(stdout);
      if (match && !host) {
        host = match[1] ?? '';
        act(child);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (twice && !second && stderr.includes('starting nothing new')) {
        second = true;
        child.kill('SIGINT');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, host });
    });
  });
}

const LOCK = lockKey('eqiad', 'appserver');
const pooledOf = async (host: string): Promise<unknown> =>
  (await valueOf(kv, host.split('.')[1] ?? '', 'appserver', host))?.['pooled'];

describe('Ctrl-C during sync', { timeout: 180_000 }, () => {
  it('first SIGINT: lets the running restart finish, repools the healthy host, starts nothing new, exits 130', async () => {
    const r = await interruptedSync(false);
    expect(r.host).toBe(sandbox.hosts[0]?.name);
    expect(r.stdout).toContain(`"event":"host.restarted","dc":"eqiad","cluster":"appserver","host":"${r.host}"`);
    expect(r.stdout).toContain(`"event":"host.repooled","dc":"eqiad","cluster":"appserver","host":"${r.host}"`);
    expectExit(r, 130);
    expect(r.stderr).toContain('SIGINT: starting nothing new');
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
      event: string;
      exitCode: number;
      interruptedBy: string | null;
      totals: { done: number; leftDepooled: number };
    };
    expect(summary).toMatchObject({ event: 'run.summary', exitCode: 130, interruptedBy: 'SIGINT' });
    expect(summary.totals.leftDepooled).toBe(0);
    // Nothing new started: the interrupted host is the only one depooled (window of 1, the default mode).
    expect(r.stdout.match(/"event":"host\.depooled"/g)).toHaveLength(1);
    expect(r.stdout.match(/"event":"host\.dispatched"/g)).toHaveLength(1);
    for (const host of sandbox.hosts) expect(await pooledOf(host.name)).toBe('yes');
    const recover = await rollout(['recover', '-i', inventory], { cwd: dir });
    expect(recover.stdout).toContain('nothing to recover');
  });

  it('second SIGINT: exits 130 at once, leaving the depooled host for `rollout recover --yes`', async () => {
    const r = await interruptedSync(true);
    expectExit(r, 130);
    expect(r.stderr).toContain('second SIGINT: exiting now; run `rollout recover`');
    expect(await pooledOf(r.host)).toBe('no');
    // The dead run's lock lives until its lease expires (10 s): recover says so meanwhile, and never
    // "nothing to recover" while the journal lists the host (--no-wait: exit 75 rather than wait out the grace).
    const early = await rollout(['recover', '--yes', '--no-wait', '-i', inventory], { cwd: dir });
    expect(early.stdout).not.toContain('nothing to recover');
    if ((await kv.get(LOCK)) !== null) {
      expect(early.stdout).toContain('no dead run to recover now');
      expect(early.stderr).toContain('is not finished and holds its lock');
    }
    for (let i = 0; i < 60 && (await kv.get(LOCK)) !== null; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 500));
    const recover = await rollout(['recover', '--yes', '--grace', '0', '-i', inventory], { cwd: dir });
    expect(recover.stdout).toMatch(new RegExp(`${r.host.replace(/\./g, '\\.')}.*repooled`));
    expectExit(recover, 0);
    for (const host of sandbox.hosts) expect(await pooledOf(host.name)).toBe('yes');
  });
});

describe("the run's lock lease revoked behind its back while etcd stays up", { timeout: 180_000 }, () => {
  it('starts nothing new and writes no pool key after the revoke; the host it was restarting is left for recover', async () => {
    const poolWrites: string[] = [];
    let watch: { close(): Promise<void> } | undefined;
    const r = await syncUntilDrained(() => {
      const lock = kv.get(LOCK);
      void lock.then(async (entry) => {
        if (!entry?.lease) throw new Error(`no lease on ${LOCK}`);
        // Why: every pool write after this revision came after the revoke (the restart sleeps 2 s, writing nothing).
        const before = await kv.put('/test/revoke-marker', 'x');
        watch = await kv.watch('/conftool/v1/pools/', before, {
          onEvent: (e) => void poolWrites.push(`${e.type} ${e.type === 'put' ? e.entry.key : e.key}`),
          onResync: (why) => void poolWrites.push(`resync: ${why}`),
        });
        etcdctl(sandbox.etcd.endpoint, 'lease', 'revoke', BigInt(entry.lease).toString(16));
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the watch deliver anything late
    await watch?.close();
    expect(r.host).toBe(sandbox.hosts[0]?.name);
    expect(r.code, r.stderr).not.toBe(0);
    expect(poolWrites).toEqual([]);
    expect(r.stdout).toContain('lost the cluster lock');
    // Nothing new started: one dispatch (a window of 1, the default mode), one depool, and the host in restart is not repooled.
    expect(r.stdout.match(/"event":"host\.dispatched"/g)).toHaveLength(1);
    expect(r.stdout.match(/"event":"host\.depooled"/g)).toHaveLength(1);
    expect(r.stdout).not.toContain('"event":"host.repooled"');
    expect(await pooledOf(r.host)).toBe('no');
    const recover = await rollout(['recover', '--yes', '--grace', '0', '-i', inventory], { cwd: dir });
    expect(recover.stdout).toMatch(new RegExp(`${r.host.replace(/\./g, '\\.')}.*repooled`));
    for (const host of sandbox.hosts) expect(await pooledOf(host.name)).toBe('yes');
  });
});
