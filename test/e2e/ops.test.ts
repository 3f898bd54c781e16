import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, type Sample } from '../../src/metrics/exposition.js';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { startPushgateway, type TestDaemon } from '../support/prometheus.js';
import { events, rollout } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

const HOOK_ADDRESS = `${NETS.ops}.5`;
const HOOK_PORT = 8080;
const PUSH_ADDRESS = `${NETS.ops}.7`;
const PUSH_PORT = 9091;
const hook = (p: string): string => `http://${HOOK_ADDRESS}:${HOOK_PORT}${p}`;

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}
const received: Received[] = [];
let server: http.Server;
let pushgateway: TestDaemon;

const fx = useSandbox(
  'ops',
  { dcs: ['eqiad'], clusters: ['appserver'], hostsPerCluster: 3, net: NETS.ops, sshBasePort: 2790, release: 'r1' },
  (doc) => {
    // Why: the sandbox's dir must hold only what the sandbox made: hook outputs and the textfile go beside it.
    const out = path.join(path.dirname(fx.inventory ?? '/tmp'), 'ops-out');
    doc.set(
      'notify',
      doc.createNode([
        {
          webhook: hook('/ok'),
          text: true,
          headers: { Authorization: 'ROLLOUT_TEST_CHAT_TOKEN' },
          events: ['run.started', 'cluster.finished', 'run.finished', 'run.failed'],
        },
        { webhook: hook('/slow'), timeout: 1, retries: 0, events: ['run.finished'] },
        { webhook: `http://${NETS.ops}.6:${HOOK_PORT}/`, retries: 1, events: ['run.started'] },
        { command: `cat >> ${out}/hook.ndjson; env > ${out}/hook.env`, events: ['run.started', 'run.finished'] },
      ]),
    );
    doc.set('metrics', doc.createNode({ textfile: out, pushgateway: `http://${PUSH_ADDRESS}:${PUSH_PORT}` }));
  },
);
const out = (): string => path.join(fx.work, 'ops-out');

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(body || '{}') as Record<string, unknown>,
      });
      // Why: /slow answers long after the sink's 1s timeout.
      if (req.url === '/slow') setTimeout(() => res.end('late'), 5000);
      else res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(HOOK_PORT, HOOK_ADDRESS, resolve));
  pushgateway = await startPushgateway(PUSH_ADDRESS, PUSH_PORT);
}, 60_000);
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await pushgateway?.stop();
});

async function scrape(): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${pushgateway.url}/metrics`)).text());
}
const find = (samples: Sample[], name: string, labels: Record<string, string>): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('announcements and run metrics around a real run', () => {
  it('sends the hook documents, warns about a slow and a refusing sink without failing the run, and writes the metrics', async () => {
    fs.mkdirSync(out(), { recursive: true });
    process.env['ROLLOUT_TEST_CHAT_TOKEN'] = 'Bearer chat-secret';
    const r = await rollout(['sync', '--json', '--reason', 'e2e ops'], fx.inventory, 180_000);
    delete process.env['ROLLOUT_TEST_CHAT_TOKEN'];
    expectExit(r, 0);
    const runId = String(events(r.stdout).find((e) => e['event'] === 'run.started')?.['runId']);

    const ok = received.filter((x) => x.path === '/ok');
    expect(ok.map((x) => x.body['event'])).toEqual(['run.started', 'cluster.finished', 'run.finished']);
    for (const x of ok) {
      expect(x.headers['authorization']).toBe('Bearer chat-secret');
      expect(x.body).toMatchObject({
        runId,
        reason: 'e2e ops',
        command: expect.stringMatching(/^rollout sync --json/),
      });
      expect(String(x.body['text'])).toMatch(/^rollout: /);
    }
    expect(ok[1]?.body).toMatchObject({ dc: 'eqiad', cluster: 'appserver', counts: { ok: 3, failed: 0, skipped: 0 } });
    expect(ok[2]?.body).toMatchObject({ exitCode: 0, counts: { ok: 3, failed: 0, skipped: 0 } });

    const warnings = events(r.stdout)
      .filter((e) => e['event'] === 'run.warning')
      .map((e) => String(e['message']));
    expect(warnings.find((w) => w.includes('/slow'))).toMatch(
      /run\.finished not delivered after 1 attempt\(s\): no answer within 1s/,
    );
    expect(warnings.find((w) => w.includes(`${NETS.ops}.6`))).toMatch(
      /run\.started not delivered after 2 attempt\(s\): .*ECONNREFUSED/,
    );

    // The command sink: one JSON document per line on its stdin, and none of rollout's secrets in its environment.
    const docs = fs
      .readFileSync(path.join(out(), 'hook.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs.map((d) => d['event'])).toEqual(['run.started', 'run.finished']);
    const env = fs.readFileSync(path.join(out(), 'hook.env'), 'utf8');
    expect(env).toMatch(/^PATH=/m);
    expect(env).not.toContain('ROLLOUT_TEST_CHAT_TOKEN');

    // The textfile, parsed as Prometheus would.
    const text = parseExposition(fs.readFileSync(path.join(out(), 'rollout.prom'), 'utf8'));
    const labels = { dc: 'eqiad', cluster: 'appserver', mode: 'graceful' };
    expect(find(text, 'rollout_hosts_total', { ...labels, result: 'restarted' })).toBe(3);
    expect(find(text, 'rollout_host_depooled_seconds_count', labels)).toBe(3);
    const last = find(text, 'rollout_last_success_timestamp_seconds', labels) ?? 0;
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(300);
    expect(fs.readdirSync(out()).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // The Pushgateway, scraped: grouped by job, dc and cluster.
    const pushed = await scrape();
    const group = { job: 'rollout', ...labels };
    expect(find(pushed, 'rollout_hosts_total', { ...group, result: 'restarted' })).toBe(3);
    expect(find(pushed, 'rollout_runs_total', { ...group, result: 'ok' })).toBe(1);
    expect(find(pushed, 'rollout_last_success_timestamp_seconds', group)).toBe(last);
  }, 240_000);

  it('carries the counters on at the next run, in the textfile and on the Pushgateway', async () => {
    const r = await rollout(['sync', '--json'], fx.inventory, 180_000);
    expectExit(r, 0);
    const labels = { dc: 'eqiad', cluster: 'appserver', mode: 'graceful', result: 'restarted' };
    const text = parseExposition(fs.readFileSync(path.join(out(), 'rollout.prom'), 'utf8'));
    expect(find(text, 'rollout_hosts_total', labels)).toBe(6);
    expect(find(await scrape(), 'rollout_hosts_total', { job: 'rollout', ...labels })).toBe(6);
  }, 240_000);
});
