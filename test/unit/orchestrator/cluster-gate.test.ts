import { describe, expect, it } from 'vitest';
import { createClusterGate } from '../../../src/orchestrator/cluster-gate.js';
import type { PoolStore } from '../../../src/pool/types.js';

/** A pool store whose writes end when the test says so, logging when they start and end. */
function slowPool(log: string[]): { pool: PoolStore; finish: () => void } {
  let finish = (): void => undefined;
  const pool = {
    write: async () => {
      log.push('write start');
      await new Promise<void>((resolve) => (finish = resolve));
      log.push('write end');
      return 1;
    },
  } as unknown as PoolStore;
  return { pool, finish: () => finish() };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the cluster gate of a window', () => {
  it('holds a repool back while a guarded depool holds the gate, and lets it go once released', async () => {
    const log: string[] = [];
    const gate = createClusterGate();
    const { pool, finish } = slowPool(log);
    const release = await gate.exclusive();
    const write = gate.gated(pool).write({} as never, { pooled: 'yes' });
    await tick();
    expect(log).toEqual([]);
    release();
    await tick();
    expect(log).toEqual(['write start']);
    finish();
    await write;
    expect(log).toEqual(['write start', 'write end']);
  });

  it('makes a guarded depool wait for the repools under way', async () => {
    const log: string[] = [];
    const gate = createClusterGate();
    const { pool, finish } = slowPool(log);
    const write = gate.gated(pool).write({} as never, { pooled: 'yes' });
    await tick();
    const held = gate.exclusive().then((release) => (log.push('held'), release));
    await tick();
    expect(log).toEqual(['write start']);
    finish();
    (await held)();
    await write;
    expect(log).toEqual(['write start', 'write end', 'held']);
  });
});
