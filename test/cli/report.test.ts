import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEvent } from '../../src/report/format.js';
import type { RolloutEvent } from '../../src/report/events.js';
import { fleetHost, fleetRun } from '../unit/report/fleet-run.js';
import { distinctColours, dumpDom, screenshot } from '../support/chromium.js';
import { expectExit } from '../support/explain.js';
import { rollout, scratch, writeFile } from './cli.js';

const RUN_ID = '20261124T100000Z-f1ee70';
const events = fleetRun({
  clusters: [
    { dc: 'eqiad', cluster: 'appserver', hosts: 600 },
    { dc: 'eqiad', cluster: 'api_appserver', hosts: 300 },
    { dc: 'codfw', cluster: 'appserver', hosts: 100 },
  ],
  batchSize: 60,
  failing: [fleetHost('eqiad', 0, 41)],
  runId: RUN_ID,
});

/** The run log as src/log.ts writes it (pino: level, time, the event's fields, msg), with the events' own times. */
function pinoLines(list: readonly RolloutEvent[]): string {
  return (
    list
      .map((e) => {
        const { time, ...fields } = e;
        return JSON.stringify({ level: e.event === 'host.failed' ? 50 : 30, time, ...fields, msg: describeEvent(e) });
      })
      .join('\n') + '\n'
  );
}

let dir: string;
let remove: () => void;
let log: string;

beforeAll(() => {
  ({ dir, remove } = scratch());
  log = writeFile(dir, 'run.log', pinoLines(events));
});
afterAll(() => remove());

describe('rollout report', { timeout: 180_000 }, () => {
  it('writes a page that headless Chromium renders, with all 1,000 hosts in its DOM', async () => {
    const out = path.join(dir, 'run.html');
    const r = await rollout(['report', log, '-o', out], { cwd: dir });
    expectExit(r, 0);
    expect(r.stdout).toContain(`wrote ${out}: run ${RUN_ID}, 1000 hosts in 3 clusters`);
    const png = await screenshot(out, path.join(dir, 'run.png'));
    expect(distinctColours(png)).toBeGreaterThan(8);
    const dom = await dumpDom(out);
    expect(dom).toMatch(/<main id="report"[^>]*data-hosts="1000"/);
    const laneHosts = [...dom.matchAll(/<g class="lane[^"]*" data-hosts="(\d+)"/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(laneHosts).toBe(1000);
    expect(dom).toContain(`${fleetHost('eqiad', 0, 41)} (appserver@eqiad) at health [E_HEALTH]`);
  });

  it('tells a blank page from a rendered one (the check above can fail)', async () => {
    const blank = writeFile(dir, 'blank.html', '<!doctype html><html><body></body></html>');
    expect(distinctColours(await screenshot(blank, path.join(dir, 'blank.png')))).toBe(1);
  });

  it('finds a run by its id in the run log directory and names the page after it', async () => {
    const state = path.join(dir, 'state', 'rollout');
    fs.mkdirSync(state, { recursive: true });
    fs.copyFileSync(log, path.join(state, `${RUN_ID}.log`));
    const r = await rollout(['report', RUN_ID], { cwd: dir });
    expectExit(r, 0);
    expect(fs.readFileSync(path.join(dir, `${RUN_ID}.html`), 'utf8')).toContain('data-hosts="1000"');
  });

  it('reads --json output as well, and overlays load figures', async () => {
    const ndjson = writeFile(
      dir,
      'run.ndjson',
      `${events.map((e) => JSON.stringify(e)).join('\n')}\n{"event":"run.summary","time":"2026-11-24T10:10:00.000Z"}\n`,
    );
    const load = writeFile(
      dir,
      'load.json',
      JSON.stringify({
        intervalMs: 500,
        samples: [
          { t: '2026-11-24T10:00:01.000Z', ok: 100, failed: 0 },
          { t: '2026-11-24T10:00:01.500Z', ok: 60, failed: 40 },
        ],
      }),
    );
    const out = path.join(dir, 'json.html');
    const r = await rollout(['report', ndjson, '--load', load, '-o', out], { cwd: dir });
    expectExit(r, 0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('failed: 40');
    expect(html).toContain('requests/s (peak 200)');
    expect(html).toContain('class="failed-bar"');
  });
});

describe('rollout report: bad input, exit 2', { timeout: 120_000 }, () => {
  it('names a missing file', async () => {
    const r = await rollout(['report', 'no/such.log'], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain(`${path.join(dir, 'no/such.log')}: no such file`);
  });

  it('names an unknown run id and where run logs are kept', async () => {
    const r = await rollout(['report', '20261124T100000Z-000000'], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain('unknown run id 20261124T100000Z-000000');
    expect(r.stderr).toContain(path.join(dir, 'state', 'rollout'));
  });

  it('refuses a file that is not a rollout log, naming its line', async () => {
    const yaml = writeFile(dir, 'inventory.yaml', 'etcd:\n  endpoints: [x]\n');
    const r = await rollout(['report', yaml], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain(`${yaml}:1: not a rollout run log`);
    const other = writeFile(dir, 'other.log', '{"level":30,"time":"2026-11-24T10:00:00.000Z","msg":"hello"}\n');
    const r2 = await rollout(['report', other], { cwd: dir });
    expectExit(r2, 2);
    expect(r2.stderr).toContain(`${other}: not a rollout run log: no run.started event`);
  });

  it('refuses bad load figures, naming the entry', async () => {
    const load = writeFile(dir, 'bad-load.json', JSON.stringify({ samples: [{ t: 'yesterday', ok: 1 }] }));
    const r = await rollout(['report', log, '--load', load, '-o', path.join(dir, 'x.html')], { cwd: dir });
    expectExit(r, 2);
    expect(r.stderr).toContain(`${load}: --load: samples[0]`);
    expect(fs.existsSync(path.join(dir, 'x.html'))).toBe(false);
  });
});
