// A bounded HTTP load loop: `concurrency` keep-alive clients GET one URL until stopped or a limit
// is hit, counting every request that did not end in the expected status. Used by the demo,
// the end-to-end tests and the benchmarks (loopback targets only). `samples` says how many requests
// ended, and how, in each `sampleMs` (default 1 s): the input of `rollout report --load`.
import http from 'node:http';

/**
 * @param {{ url: string, concurrency?: number, maxSeconds?: number, maxRequests?: number, headers?: Record<string,string>, expectStatus?: number, sampleMs?: number }} options
 * @returns {{ stop(): Promise<LoadResult>, snapshot(): LoadResult }}
 */
export function startLoad(options) {
  const url = new URL(options.url);
  if (!/^127\./.test(url.hostname) && url.hostname !== 'localhost') {
    throw new Error(`load: refusing a non-loopback target ${url.hostname}`);
  }
  const concurrency = options.concurrency ?? 8;
  const maxRequests = options.maxRequests ?? 200_000;
  const expectStatus = options.expectStatus ?? 200;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const started = Date.now();
  const result = { requests: 0, ok: 0, failed: 0, failures: /** @type {Record<string, number>} */ ({}), seconds: 0 };
  const sampleMs = options.sampleMs ?? 1000;
  /** @type {Map<number, { ok: number, failed: number }>} interval start (epoch ms) → requests that ended in it */
  const byInterval = new Map();
  const tally = (field) => {
    const t = Math.floor(Date.now() / sampleMs) * sampleMs;
    const s = byInterval.get(t) ?? { ok: 0, failed: 0 };
    s[field] += 1;
    byInterval.set(t, s);
  };
  let stopping = false;
  const deadline = setTimeout(
    () => {
      stopping = true;
    },
    (options.maxSeconds ?? 300) * 1000,
  );

  const fail = (why) => {
    result.failed += 1;
    tally('failed');
    result.failures[why] = (result.failures[why] ?? 0) + 1;
  };
  const once = () =>
    new Promise((resolve) => {
      const req = http.get(url, { agent, headers: options.headers ?? {}, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === expectStatus) {
            result.ok += 1;
            tally('ok');
          } else fail(`HTTP ${res.statusCode}`);
          resolve();
        });
        res.on('error', (error) => {
          fail(error.code ?? error.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => {
        fail(error.code ?? error.message);
        resolve();
      });
    });
  const worker = async () => {
    while (!stopping && result.requests < maxRequests) {
      result.requests += 1;
      await once();
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  const samples = () => [...byInterval].sort(([a], [b]) => a - b).map(([t, s]) => ({ t, ...s }));
  const snapshot = () => ({
    ...result,
    failures: { ...result.failures },
    seconds: (Date.now() - started) / 1000,
    sampleMs,
    samples: samples(),
  });
  return {
    snapshot,
    async stop() {
      stopping = true;
      await Promise.all(workers);
      clearTimeout(deadline);
      agent.destroy();
      return snapshot();
    },
  };
}
