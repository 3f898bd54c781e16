import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createMemoryKv, type MemoryKv } from '../../../src/kv/memory-kv.js';
import { runLbAgent, type LbAgentOptions } from '../../../src/lb/agent.js';
import type { AppliedValue } from '../../../src/lb/keys.js';
import { appliedKey } from '../../../src/lb/keys.js';
import type { PoolKey } from '../../../src/pool/types.js';
import { createFakeHaproxy, type FakeHaproxy } from './fake-haproxy.js';

export const PREFIX = '/conftool/v1/pools';
export const poolKey = (host: string, cluster = 'appserver', dc = 'eqiad'): PoolKey => ({
  dc,
  cluster,
  service: 'php-fpm',
  host,
});
export const poolPath = (k: PoolKey): string => `${PREFIX}/${k.dc}/${k.cluster}/${k.service}/${k.host}`;

/** A captured pino logger: `lines` holds every record. */
export function captureLog(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const fastSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(resolve, Math.min(ms, 5));
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });

export interface Harness {
  kv: MemoryKv;
  haproxy: FakeHaproxy;
  lines: { level: number; msg: string }[];
  controller: AbortController;
  done: Promise<void>;
  applied(k: PoolKey): Promise<AppliedValue | undefined>;
  stop(): Promise<void>;
}

/** Starts the agent against memory-kv and a fake HAProxy; tests seed both before `start`. */
export function setup(): { kv: MemoryKv; haproxy: FakeHaproxy; start(options?: Partial<LbAgentOptions>): Harness } {
  const kv = createMemoryKv();
  const haproxy = createFakeHaproxy();
  return {
    kv,
    haproxy,
    start(options = {}) {
      const { log, lines } = captureLog();
      const controller = new AbortController();
      const done = runLbAgent(
        { kv, haproxy, log, sleep: fastSleep, now: () => Date.now() },
        {
          dc: 'eqiad',
          prefix: PREFIX,
          agentId: 'lb1',
          haproxySocket: haproxy.socketPath,
          signal: controller.signal,
          tickMs: 5,
          retryBaseMs: 5,
          retryMaxMs: 20,
          missingRetryMs: 20,
          ...options,
        },
      );
      return {
        kv,
        haproxy,
        lines,
        controller,
        done,
        async applied(k) {
          const entry = await kv.get(appliedKey('lb1', k));
          return entry === null ? undefined : (JSON.parse(entry.value) as AppliedValue);
        },
        async stop() {
          controller.abort();
          await done;
        },
      };
    },
  };
}

/** Polls until the check passes (generous bound; no timing assertion). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting until ${what}`);
}
