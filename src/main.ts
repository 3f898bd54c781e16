import { createInterface } from 'node:readline/promises';
import v8 from 'node:v8';
import { runCli } from './cli/index.js';
import type { Io } from './cli/io.js';
import { EXIT } from './errors.js';

/** The only file that touches process: argv, signals, the exit code (STYLE.md). */
// Why: after each full GC, V8 lets the heap grow to up to 4x what is live before the next; a fleet
// run allocates fast and keeps little (70 MB live for 10,000 hosts), so that slack was most of its
// RSS (350 MiB). 1.5x keeps memory near what is live at no measured cost in time (docs/benchmarks.md).
v8.setFlagsFromString('--heap-growing-percent=50');

const stop = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals += 1;
  if (signals === 1) {
    stop.abort(signal);
    if (process.argv[2] === 'lb-agent') return; // Why: the agent just revokes its lease and exits; nothing to repool.
    process.stderr.write(
      `\nrollout: ${signal}: starting nothing new, finishing running steps and repooling what is healthy; ${signal} again exits at once (the journal is kept for \`rollout recover\`)\n`,
    );
    return;
  }
  process.stderr.write(
    `rollout: second ${signal}: exiting now; run \`rollout recover\` to repool what this run left depooled\n`,
  );
  process.exit(EXIT.interrupted);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// Why: SIGHUP makes the LB agent re-read its inventory; other commands keep the default (a hangup ends them).
const reloads = new Set<() => void>();
if (process.argv[2] === 'lb-agent')
  process.on('SIGHUP', () => {
    for (const listener of reloads) listener();
  });
// Why: a closed SSH session must not kill a run mid-batch: a hangup is the first Ctrl-C (soft stop, repool, summary to the log).
else
  process.on('SIGHUP', () => {
    // Why: the terminal is gone; a write to it fails (EIO/EPIPE), which must not end the run that is putting hosts back.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    onSignal('SIGHUP');
  });
// Why: runs on process.exit (the second Ctrl-C, the end of main) and after an uncaught error; not on SIGKILL.
const exits = new Set<() => void>();
process.on('exit', () => {
  for (const listener of exits) listener();
});

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** One free answer on the terminal; the run's stop (Ctrl-C, an abort) cancels the question. */
async function ask(question: string, signal: AbortSignal): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Why: readline takes Ctrl-C at its prompt for itself; it must still be the operator's soft stop.
  rl.on('SIGINT', () => onSignal('SIGINT'));
  try {
    return await rl.question(question, { signal });
  } finally {
    rl.close();
  }
}

const io: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  argv: process.argv.slice(2),
  stop: stop.signal,
  confirm: process.stdin.isTTY && process.stderr.isTTY ? confirm : null,
  stdinIsTTY: process.stdin.isTTY === true,
  ask: process.stdin.isTTY && process.stderr.isTTY ? ask : null,
  onReload: (listener) => {
    reloads.add(listener);
    return () => void reloads.delete(listener);
  },
  onExit: (listener) => {
    exits.add(listener);
    return () => void exits.delete(listener);
  },
};

const code = await runCli(io.argv, io);
process.exitCode = code;
// Why: exit as soon as stdout and stderr have drained (pipes), not when the last idle handle (a gRPC
// channel's) lets go, which took ~0.2 s of every run; never wait more than 2 s on a stuck pipe.
const drained = (stream: NodeJS.WriteStream): Promise<void> =>
  new Promise((resolve) => stream.write('', () => resolve()));
setTimeout(() => process.exit(code), 2000).unref();
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);
