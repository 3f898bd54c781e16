/**
 * Runs the built CLI (`node bin/rollout.js`, dist/ built by `npm test` or `npm run build`) as a
 * child process, with stdin a closed pipe (never a terminal), and writes temp inventories.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectEtcd } from '../../src/kv/etcd-kv.js';
import type { Kv } from '../../src/kv/kv.js';
import { poolKeyPath } from '../../src/pool/store.js';
import type { PoolKey } from '../../src/pool/types.js';
import { etcdctl, etcdSettings } from '../support/etcd-settings.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/rollout.js');
export const PREFIX = '/conftool/v1/pools';

/** What one CLI invocation did. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) after this long; the result then has signal set. */
  readonly timeoutMs?: number;
}

/** A scratch directory for one test file: inventories, the run log, HOME. */
export function scratch(): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-cli-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** `node bin/rollout.js ...args`: resolves with the exit code and everything printed. */
export function rollout(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const cwd = options.cwd ?? ROOT;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: cwd,
    USER: 'tester',
    XDG_STATE_HOME: path.join(cwd, 'state'),
    NO_COLOR: '1',
    ...options.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(); // not a terminal: nothing to confirm on
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface ClusterSpec {
  readonly dc: string;
  readonly name: string;
  /** A nodeset, e.g. `mw[1001-1004].eqiad.wmnet`. */
  readonly hosts: string;
  readonly minPooled?: string;
  readonly batch?: string;
}

/** A small valid inventory: the given clusters, etcd at `endpoint`, health and restart that never run. */
export function inventoryYaml(
  endpoint: string,
  clusters: readonly ClusterSpec[],
  options: { readonly healthUrl?: string } = {},
): string {
  const dcs = [...new Set(clusters.map((c) => c.dc))];
  const lines = [
    'etcd:',
    `  endpoints: [${endpoint}]`,
    `  prefix: ${PREFIX}`,
    '  dialTimeout: 3',
    'defaults:',
    '  weight: 10',
    '  batch: { size: 25% }',
    '  minPooled: 50%',
    '  ssh: { user: deploy, connectTimeout: 2 }',
    '  restart: { command: "true", timeout: 5 }',
    `  health: { type: http, url: "${options.healthUrl ?? 'http://{address}/'}", attempts: 1, interval: 1 }`,
    'datacenters:',
  ];
  for (const dc of dcs) {
    lines.push(`  ${dc}:`, '    clusters:');
    for (const c of clusters.filter((x) => x.dc === dc)) {
      lines.push(`      ${c.name}:`);
      if (c.minPooled !== undefined) lines.push(`        minPooled: ${c.minPooled}`);
      if (c.batch !== undefined) lines.push(`        batch: { size: ${c.batch} }`);
      lines.push(`        hosts: ["${c.hosts}"]`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `text` to `<dir>/<name>` and returns the path. */
export function writeFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A client of the test etcd, for seeding and reading keys behind the CLI's back. */
export function connect(endpoint: string): Promise<Kv> {
  return connectEtcd(etcdSettings(endpoint));
}

/** Deletes every key, so each test starts from an empty etcd. */
export function wipe(endpoint: string): void {
  etcdctl(endpoint, 'del', '', '--from-key');
}

export function poolKey(dc: string, cluster: string, host: string): PoolKey {
  return { dc, cluster, service: 'php-fpm', host };
}

/** Writes a conftool value for each host (`{pooled, weight}` plus any extra fields). */
export async function seed(
  kv: Kv,
  dc: string,
  cluster: string,
  values: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): Promise<void> {
  for (const [host, value] of Object.entries(values))
    await kv.put(poolKeyPath(PREFIX, poolKey(dc, cluster, host)), JSON.stringify(value));
}

/** The parsed conftool value of a host, or null when it has no key. */
export async function valueOf(
  kv: Kv,
  dc: string,
  cluster: string,
  host: string,
): Promise<Record<string, unknown> | null> {
  const entry = await kv.get(poolKeyPath(PREFIX, poolKey(dc, cluster, host)));
  return entry === null ? null : (JSON.parse(entry.value) as Record<string, unknown>);
}

/** No Node stack frame in the output: errors are for people, not bug reports. */
export function hasStack(text: string): boolean {
  return /^\s+at .+[:(]/m.test(text);
}

export const SCRIPT = '/usr/bin/script';

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), so it may ask for confirmation;
 * types `keys` once stdout shows `prompt`. The exit code is the CLI's (`script -e`).
 */
export function rolloutOnTty(
  args: readonly string[],
  keys: string,
  options: RunOptions & { prompt?: string } = {},
): Promise<CliResult> {
  const cwd = options.cwd ?? ROOT;
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: cwd,
    USER: 'tester',
    XDG_STATE_HOME: path.join(cwd, 'state'),
    NO_COLOR: '1',
    TERM: 'dumb',
    ...options.env,
  };
  const prompt = options.prompt ?? 'Go on?';
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!typed && stdout.includes(prompt)) {
        typed = true;
        child.stdin.write(keys);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
