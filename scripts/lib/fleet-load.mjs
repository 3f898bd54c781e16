// Load and observation helpers over a running sandbox, shared by the demo, the e2e tests and the
// benchmarks: one bounded load loop per HAProxy backend, and each host's PHP-FPM master pid.
import { startLoad } from './load.mjs';

/** Continuous load on every backend (HAProxy routes /<dc>/<cluster>/), `concurrency` spread over them. */
export function loadAllBackends(sandbox, { concurrency = 8, maxSeconds = 300, sampleMs = 1000 } = {}) {
  const backends = [...new Set(sandbox.hosts.map((h) => `/${h.dc}/${h.cluster}/`))];
  const per = Math.max(1, Math.floor(concurrency / backends.length));
  const loops = backends.map((p) =>
    startLoad({ url: `${sandbox.haproxy.url}${p}`, concurrency: per, maxSeconds, sampleMs }),
  );
  return {
    async stop() {
      const results = await Promise.all(loops.map((l) => l.stop()));
      const failures = {};
      for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
      const sum = (f) => results.reduce((n, r) => n + f(r), 0);
      const byInterval = new Map();
      for (const r of results)
        for (const s of r.samples) {
          const total = byInterval.get(s.t) ?? { t: s.t, ok: 0, failed: 0 };
          total.ok += s.ok;
          total.failed += s.failed;
          byInterval.set(s.t, total);
        }
      const samples = [...byInterval.values()].sort((a, b) => a.t - b.t);
      return {
        requests: sum((r) => r.requests),
        ok: sum((r) => r.ok),
        failed: sum((r) => r.failed),
        failures,
        seconds: Math.max(...results.map((r) => r.seconds)),
        sampleMs,
        samples,
      };
    },
  };
}

/** What each host serves now (`masterPid`, `release`…), or null when it does not answer. */
export async function hostReplies(sandbox) {
  const replies = {};
  await Promise.all(
    sandbox.hosts.map(async (host) => {
      try {
        const res = await fetch(host.httpUrl, { signal: AbortSignal.timeout(5000) });
        replies[host.name] = await res.json();
      } catch {
        replies[host.name] = null;
      }
    }),
  );
  return replies;
}

/** Each host's PHP-FPM master pid (it changes on every restart), or null. */
export async function masterPids(sandbox) {
  const replies = await hostReplies(sandbox);
  return Object.fromEntries(Object.entries(replies).map(([name, r]) => [name, r?.masterPid ?? null]));
}
