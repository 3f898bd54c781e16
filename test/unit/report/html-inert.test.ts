import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderHtml } from '../../../src/report/html.js';
import { buildTimeline } from '../../../src/report/timeline.js';
import { reportCommand } from '../../../src/commands/report.js';
import { isRolloutError } from '../../../src/errors.js';
import { stringStream } from '../../../src/report/stream.js';
import { failedRun } from './events.js';
import { craftedRun, EVIL } from './crafted.js';

describe('the HTML report is inert', () => {
  const html = renderHtml(buildTimeline(craftedRun()), { source: `log${EVIL}` });

  it('escapes every value: no markup from the log survives (cluster, dc, exit code, batch…)', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    // Quoted attribute values are inert: what is left must hold no event-handler attribute.
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[a-z][^>]*\son[a-z]+=/i);
    expect(html).toContain('&lt;script&gt;');
  });

  it('forbids scripts with a Content-Security-Policy that allows only its own stylesheet, by hash', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    expect(csp).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<title>'));
  });
});

describe('the default report name', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-report-name-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const io = () => ({
    stdout: stringStream(),
    stderr: stringStream(),
    env: {},
    cwd: path.join(dir, 'cwd'),
    argv: [],
    stop: new AbortController().signal,
    confirm: null,
  });

  for (const runId of ['../x', '/tmp/abs', 'r-1'])
    it(`is refused for the run id ${JSON.stringify(runId)} (exit 2, nothing written)`, async () => {
      fs.mkdirSync(path.join(dir, 'cwd'));
      const log = path.join(dir, 'run.log');
      fs.writeFileSync(log, failedRun.map((e) => JSON.stringify({ ...e, runId })).join('\n') + '\n');
      const error = await reportCommand({ run: log }, io()).catch((e: unknown) => e);
      expect(isRolloutError(error, 'E_USAGE') && error.exitCode).toBe(2);
      expect(String((error as Error).message)).toContain('give -o FILE');
      expect(fs.readdirSync(dir).sort()).toEqual(['cwd', 'run.log']);
      expect(fs.readdirSync(path.join(dir, 'cwd'))).toEqual([]);
    });

  it('is <runId>.html for a real run id', async () => {
    fs.mkdirSync(path.join(dir, 'cwd'));
    const log = path.join(dir, 'run.log');
    const runId = '20261124T195500Z-ab12cd';
    fs.writeFileSync(log, failedRun.map((e) => JSON.stringify({ ...e, runId })).join('\n') + '\n');
    expect(await reportCommand({ run: log }, io())).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'cwd'))).toEqual([`${runId}.html`]);
  });
});
