import type { TextStream } from './stream.js';

/**
 * A TextStream whose writes made in one turn of the event loop leave as one write: a fleet's
 * thousands of events then cost a write per turn, not a system call per event (stdout on a pipe
 * is written synchronously). `flush` writes what waits at once; `onExit` makes the process's exit
 * flush too, so a run that ends with process.exit loses no line.
 */
export function coalescedStream(
  stream: TextStream,
  onExit?: (listener: () => void) => () => void,
): TextStream & { flush(): void } {
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  onExit?.(flush);
  return {
    ...(stream.columns === undefined ? {} : { columns: stream.columns }),
    write(text) {
      pending.push(text);
      if (scheduled) return;
      scheduled = true;
      setImmediate(flush);
    },
    flush,
  };
}
