import type { ExecOptions, ExecResult, SshTarget, Transport } from '../../../src/transport/types.js';

export interface Call {
  readonly target: SshTarget;
  readonly command: string;
  readonly options: ExecOptions;
}

/** A Transport whose exec answers from a function; records every call. */
export function fakeTransport(answer: (command: string) => Partial<ExecResult> | Error): Transport & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async exec(target, command, options) {
      calls.push({ target, command, options });
      const result = answer(command);
      if (result instanceof Error) throw result;
      return { exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 5, ...result };
    },
    async reach() {},
    release() {},
    async close() {},
  };
}
