import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/report/html.js';
import { buildTimeline } from '../../src/report/timeline.js';
import { dumpDom } from '../support/chromium.js';
import { craftedRun, EVIL } from '../unit/report/crafted.js';
import { scratch } from './cli.js';

// The report of a crafted log, opened in headless Chromium: no markup from the log, and no script runs even if some got in.
let dir: string;
let remove: () => void;
const SCRIPT = `<script>document.body.setAttribute('data-ran', 'yes')</script>`;

beforeAll(() => ({ dir, remove } = scratch()));
afterAll(() => remove());

const write = (name: string, html: string): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, html);
  return file;
};

describe('the HTML report in a browser', { timeout: 180_000 }, () => {
  const html = renderHtml(buildTimeline(craftedRun()), { source: `log${EVIL}` });

  it('holds no element from the log: cluster, dc, exit code and batch stay text', async () => {
    const dom = await dumpDom(write('crafted.html', html));
    expect(dom).toContain('<main id="report"');
    expect(dom).not.toMatch(/<script/i);
    expect(dom).not.toMatch(/<img/i);
    expect(dom).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('runs no script even if one got into the page (the CSP), while the same page without it does', async () => {
    const injected = html.replace('</main>', `${SCRIPT}</main>`);
    expect(await dumpDom(write('injected.html', injected))).not.toContain('data-ran="yes"');
    const noCsp = injected.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '');
    expect(await dumpDom(write('no-csp.html', noCsp))).toContain('data-ran="yes"');
  });
});
