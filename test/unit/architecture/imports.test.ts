import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCircles, importGraph } from './imports.js';

const src = fileURLToPath(new URL('../../../src', import.meta.url));
const graph = importGraph(src);

/** The files of `from` that import a file of `to`, as `a.ts → b.ts` lines. */
function arrows(from: string, to: string): string[] {
  return [...graph].flatMap(([file, targets]) =>
    file.startsWith(`${from}/`) ? targets.filter((t) => t.startsWith(`${to}/`)).map((t) => `${file} → ${t}`) : [],
  );
}

describe('the layout of src/', () => {
  it('has no import circle, type-only imports included', () => {
    expect(importCircles(graph).map((circle) => circle.join(' → '))).toEqual([]);
  });

  it('keeps the key-value adapters free of pool state and run coordination', () => {
    expect([...arrows('kv', 'pool'), ...arrows('kv', 'coordination')]).toEqual([]);
  });

  it('keeps the pool state free of run coordination (locks, journals, slots)', () => {
    expect(arrows('pool', 'coordination')).toEqual([]);
  });

  it('keeps the planner pure: it imports no adapter, no orchestrator and no I/O module', () => {
    const impure = ['kv', 'coordination', 'orchestrator', 'transport', 'health', 'lb', 'commands', 'cli'];
    expect(impure.flatMap((room) => arrows('planner', room))).toEqual([]);
  });

  it('finds a circle when there is one (the check itself can fail)', () => {
    const circular = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(importCircles(circular)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
