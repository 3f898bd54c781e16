import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/index.js';
import type { Io } from '../../../src/cli/io.js';
import { chooseRun } from '../../../src/commands/steer.js';
import type { LiveRunRef } from '../../../src/coordination/control.js';
import { isRolloutError } from '../../../src/errors.js';

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

describe('which run a steering command acts on', () => {
  const run = (runId: string): LiveRunRef => ({
    runId,
    holder: { user: 'alice', machine: 'deploy1', pid: 7, command: 'rollout sync', runId, startedAt: '', reason: '' },
    clusters: [{ dc: 'eqiad', cluster: 'appserver' }],
  });

  it('takes the only live run, or the one named', () => {
    expect(chooseRun([run('r-1')], undefined, 'pause').runId).toBe('r-1');
    expect(chooseRun([run('r-1'), run('r-2')], 'r-2', 'abort').runId).toBe('r-2');
  });

  it('lists the live runs and refuses (exit 2) when several are live and none is named', () => {
    const error = (() => {
      try {
        chooseRun([run('r-1'), run('r-2')], undefined, 'pause');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isRolloutError(error, 'E_USAGE') && error.exitCode).toBe(2);
    expect((error as Error).message).toMatch(
      /2 runs are live; name one: rollout pause RUN\nlive runs:\n {2}r-1 .*\n {2}r-2 /,
    );
  });
});
