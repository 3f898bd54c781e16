import { describe, expect, it } from 'vitest';
import { chooseReporter } from '../../../src/report/choose.js';
import { coalescedStream } from '../../../src/report/coalesced-stream.js';
import type { RolloutEvent } from '../../../src/report/events.js';

/** A stream that records each write it gets, as the process's stdout would see them. */
function recording() {
  const writes: string[] = [];
  return { writes, stream: { write: (text: string) => void writes.push(text) } };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('coalescedStream', () => {
  it('sends the writes of one turn as one write, in order, on the next turn', async () => {
    const { writes, stream } = recording();
    const out = coalescedStream(stream);
    out.write('a\n');
    out.write('b\n');
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual(['a\nb\n']);
    out.write('c\n');
    await turn();
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('flush writes what waits at once, and the exit listener flushes what is left', () => {
    const { writes, stream } = recording();
    let exit: (() => void) | undefined;
    const out = coalescedStream(stream, (listener) => {
      exit = listener;
      return () => undefined;
    });
    out.write('a\n');
    out.flush();
    expect(writes).toEqual(['a\n']);
    out.write('b\n');
    exit?.();
    expect(writes).toEqual(['a\n', 'b\n']);
  });

  it('a --json reporter has written every line, the summary last, once close resolves', async () => {
    const { writes, stream } = recording();
    const report = chooseReporter({ stream, now: () => 0, json: true, isTTY: false });
    const event = { event: 'run.warning', message: 'x', time: new Date(0).toISOString(), runId: 'r' } as RolloutEvent;
    report.emit(event);
    report.emit(event);
    await report.close();
    const lines = writes.join('').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual([
      'run.warning',
      'run.warning',
      'run.summary',
    ]);
  });
});
