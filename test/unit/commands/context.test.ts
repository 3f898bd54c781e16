import { describe, expect, it } from 'vitest';
import type { Io } from '../../../src/cli/io.js';
import { connectPool, parseAmountArg, parseRampArg, whoami } from '../../../src/commands/context.js';
import { isRolloutError } from '../../../src/errors.js';
import { fleet } from '../../support/fleet.js';

function io(env: NodeJS.ProcessEnv = {}): Io {
  return {
    stdout: { write: () => true },
    stderr: { write: () => true },
    env,
    cwd: '/',
    argv: [],
    stop: new AbortController().signal,
    confirm: null,
  };
}

describe('parseAmountArg', () => {
  it('reads counts and percentages like the inventory does', () => {
    expect(parseAmountArg('--batch-size', '3')).toEqual({ kind: 'count', value: 3 });
    expect(parseAmountArg('--batch-size', ' 12.5% ')).toEqual({ kind: 'percent', value: 12.5 });
  });

  it('accepts a failure budget of 0 but not a batch of 0', () => {
    expect(parseAmountArg('--failure-budget', '0')).toEqual({ kind: 'count', value: 0 });
    expect(() => parseAmountArg('--batch-size', '0')).toThrow(/--batch-size: expected a positive count/);
  });

  it('rejects words, negative numbers and more than 100% with E_USAGE naming the option and the value', () => {
    for (const text of ['ten', '-1', '101%', '0%', '']) {
      let error: unknown;
      try {
        parseAmountArg('--batch-size', text);
      } catch (e) {
        error = e;
      }
      expect(isRolloutError(error, 'E_USAGE')).toBe(true);
      expect((error as Error).message).toContain(`got "${text}"`);
    }
  });

  it('reads a ramp of amounts and rejects it when one step is wrong', () => {
    expect(parseRampArg('--batch-size', '1,10%,25%')).toEqual([
      { kind: 'count', value: 1 },
      { kind: 'percent', value: 10 },
      { kind: 'percent', value: 25 },
    ]);
    expect(() => parseRampArg('--batch-size', '1,,25%')).toThrow(/got ""/);
  });
});

describe('whoami', () => {
  it('names the sudo user rather than root', () => {
    expect(whoami(io({ SUDO_USER: 'alice', USER: 'root' })).user).toBe('alice');
    expect(whoami(io({ USER: 'bob' })).user).toBe('bob');
  });
});

describe('connectPool', () => {
  it('refuses an empty --etcd as a usage error before trying to connect', async () => {
    const { inventory } = fleet().cluster('appserver', 2).build();
    await expect(connectPool(inventory, { etcd: [''] }, io())).rejects.toMatchObject({
      code: 'E_USAGE',
      where: '--etcd',
    });
    await expect(connectPool(inventory, { etcd: [' , '] }, io())).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});
