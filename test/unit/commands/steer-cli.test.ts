import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/index.js';
import type { Io } from '../../../src/cli/io.js';

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

describe('the steering commands on the command line', () => {
  it.each([
    [['pause'], /Missing required argument: reason/],
    [['abort', 'r-1'], /Missing required argument: reason/],
    [['freeze'], /Missing required argument: reason/],
    [['sync', '--deadline', 'soon'], /--deadline: expected a duration like "45m", "90s" or "1h30m", got "soon"/],
    [['restart', 'appserver', 'eqiad', '--pace', '30'], /--pace: expected a duration/],
  ])('exits 2 before etcd is contacted: %j', async (argv, message) => {
    const io = fakeIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err.join('')).toMatch(message);
  });
});
