/* eslint-disable no-control-regex -- these tests look for control characters */
import { describe, expect, it } from 'vitest';
import { chooseReporter } from '../../../src/report/choose.js';
import { stringStream } from '../../../src/report/stream.js';
import { terminalSafe } from '../../../src/report/terminal-safe.js';
import { renderError } from '../../../src/cli/render-error.js';
import { RolloutError } from '../../../src/errors.js';
import { at, started } from './events.js';

const NASTY = 'ok\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b(B\rover\x08\x07\x9b31m\x85 end\tcol\nnext';
const hasControls = (text: string): boolean =>
  /[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(text.replace(/\x1b\[[0-9;]*m/g, ''));

describe('remote output on a terminal', () => {
  it('loses every control character and escape sequence but newlines and tabs', () => {
    expect(terminalSafe(NASTY)).toBe('okover31m end\tcol\nnext');
  });

  for (const isTTY of [true, false])
    it(`reaches the ${isTTY ? 'terminal' : 'plain-lines'} reporter without control characters`, async () => {
      const stream = stringStream();
      const report = chooseReporter({ stream, now: () => 0, json: false, isTTY, color: false });
      report.emit(started);
      const c = { dc: 'eqiad', cluster: 'appserver' };
      report.emit(at(1, { event: 'host.depooled', ...c, host: 'mw1', modRevision: 3 }));
      report.emit(at(2, { event: 'health.failed', ...c, host: 'mw1', attempts: 1, detail: NASTY }));
      report.emit(
        at(3, {
          event: 'host.failed',
          ...c,
          host: 'mw1',
          step: 'restart',
          reason: `restart failed: ${NASTY}`,
          code: 'E_RESTART',
          depooled: true,
        }),
      );
      report.emit(at(4, { event: 'run.warning', message: NASTY }));
      await report.close();
      const text = stream.text();
      expect(text).toContain('over');
      // The reporter's own cursor and colour codes stay; none of the remote ones may.
      for (const bad of ['\x1b[2J', '\x1b[H', '\x1b]0;pwned', '\x1b(B', '\x08', '\x07', '\x9b', '\x85'])
        expect(text).not.toContain(bad);
      if (!isTTY) expect(hasControls(text)).toBe(false);
    });

  it('is cleaned in error messages too', () => {
    const text = renderError(new RolloutError('E_RESTART', `mw1: ${NASTY}`, { details: [NASTY] }));
    expect(hasControls(text)).toBe(false);
  });
});
