import { execFile } from 'node:child_process';
import { childEnv } from '../child-env.js';
import { describeFetchError } from './fetch-error.js';
import { readBackendCounts, type BackendCounts, type StatsSource } from './haproxy-stats.js';

/** What a canary gate reads; the real adapter below, fakes in unit tests. */
export interface CanaryProbes {
  backendCounts(source: StatsSource, backend: string, timeoutMs: number): Promise<BackendCounts>;
  /** Runs a rendered command on this machine (`sh -c`): its exit code and the tail of its output. */
  runLocal(command: string, timeoutMs: number): Promise<{ readonly exitCode: number; readonly output: string }>;
  /** GET: the status (0 when no answer) and the start of the body or the reason. */
  get(url: string, timeoutMs: number): Promise<{ readonly status: number; readonly body: string }>;
}

const tail = (text: string): string => text.trim().split('\n').slice(-5).join(' | ').slice(-500);

/** Options of createCanaryProbes. */
export interface CanaryProbeOptions {
  /** The gate command's environment: rollout's own, minus its secrets (src/child-env.ts). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** More variables holding secrets (etcd.passwordEnv), kept from the gate command. */
  readonly secretEnv?: readonly (string | undefined)[];
  readonly fetch?: typeof fetch;
}

export function createCanaryProbes(options: CanaryProbeOptions = {}): CanaryProbes {
  const doFetch = options.fetch ?? fetch;
  // Why: the gate command is an operator's script; it needs PATH and HOME, never the SSH passphrase or etcd password.
  const env = childEnv(options.env ?? process.env, options.secretEnv ?? []);
  return {
    backendCounts: (source, backend, timeoutMs) => readBackendCounts(source, backend, timeoutMs, doFetch),
    runLocal: (command, timeoutMs) =>
      new Promise((resolve) => {
        execFile(
          '/bin/sh',
          ['-c', command],
          { timeout: timeoutMs, maxBuffer: 1024 * 1024, env },
          (error, stdout, stderr) => {
            const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
            const why = error !== null && error.killed ? ` (killed after ${timeoutMs / 1000}s)` : '';
            resolve({ exitCode: code, output: `${tail(`${stdout}\n${stderr}`)}${why}` });
          },
        );
      }),
    async get(url, timeoutMs) {
      try {
        const response = await doFetch(url, {
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'manual',
          headers: { 'user-agent': 'rollout canary gate' },
        });
        return { status: response.status, body: tail((await response.text()).slice(0, 10_000)) };
      } catch (error) {
        return { status: 0, body: describeFetchError(error, timeoutMs / 1000) };
      }
    },
  };
}
