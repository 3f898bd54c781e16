/** Where a reporter writes: process.stdout/stderr in the CLI, a string buffer in tests. */
export interface TextStream {
  write(text: string): void;
  /** Terminal width, when known: live lines are cut to it so that rewriting them stays exact. */
  readonly columns?: number;
}

/** A TextStream that keeps everything written, for tests and for rendering to a string. */
export function stringStream(columns?: number): TextStream & { text(): string } {
  const chunks: string[] = [];
  const stream = { write: (text: string) => void chunks.push(text), text: () => chunks.join('') };
  return columns === undefined ? stream : { ...stream, columns };
}
