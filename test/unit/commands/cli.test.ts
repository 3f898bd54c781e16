import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/index.js';
import type { Io } from '../../../src/cli/io.js';
import { renderError } from '../../../src/cli/render-error.js';
import { RolloutError } from '../../../src/errors.js';

function fakeIo(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    env: {},
    cwd: '/nonexistent',
    argv: [],
    stop: new AbortController().signal,
    confirm: null,
  };
}

describe('runCli', () => {
  it('exits 2 naming the missing option when depool has no --reason', async () => {
    const io = fakeIo();
    expect(await runCli(['depool', 'mw1001'], io)).toBe(2);
    expect(io.err.join('')).toContain('reason');
    expect(io.err.join('')).toContain('rollout --help');
  });

  it('exits 2 for an inventory that is not there, naming the path resolved from cwd', async () => {
    const io = fakeIo();
    expect(await runCli(['plan', '--offline', '-i', 'inv.yaml'], io)).toBe(2);
    expect(io.err.join('')).toContain('/nonexistent/inv.yaml not found');
    expect(io.out).toEqual([]);
  });

  it('reads ROLLOUT_INVENTORY when there is no -i', async () => {
    const io = { ...fakeIo(), env: { ROLLOUT_INVENTORY: '/nonexistent/from-env.yaml' } };
    expect(await runCli(['status'], io)).toBe(2);
    expect(io.err.join('')).toContain('/nonexistent/from-env.yaml not found');
  });

  it('exits 2 for restart without its two positionals', async () => {
    const io = fakeIo();
    expect(await runCli(['restart', 'appserver'], io)).toBe(2);
    expect(io.err.join('')).toMatch(/Missing required argument: dc/);
  });
});

describe('renderError', () => {
  it('shows a RolloutError as its message, its details and its code, without a stack', () => {
    const text = renderError(
      new RolloutError('E_INVENTORY', '2 errors in a.yaml', { details: ['a.yaml:3:1: x', 'a.yaml:9:5: y'] }),
    );
    expect(text).toBe('rollout: 2 errors in a.yaml\n  a.yaml:3:1: x\n  a.yaml:9:5: y\n(E_INVENTORY)\n');
  });

  it('shows the stack of anything else, as a bug to report', () => {
    const text = renderError(new TypeError('boom'));
    expect(text).toContain('internal error');
    expect(text).toContain('TypeError: boom');
    expect(text).toMatch(/\n\s+at /);
  });
});
