/** Everything a command may touch of the outside world; main.ts builds it from `process`. */
export interface Io {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The command line as typed, for the lock holder and the first log line. */
  readonly argv: readonly string[];
  /** Aborted by the first SIGINT/SIGTERM: start nothing new, finish running steps. */
  readonly stop: AbortSignal;
  /** Asks yes/no on the terminal; null when there is no terminal to ask on. */
  readonly confirm: ((question: string) => Promise<boolean>) | null;
  /** Reads one answer on the terminal (the question on failure); null when there is no terminal to ask on. */
  readonly ask?: ((question: string, signal: AbortSignal) => Promise<string>) | null;
  /** stdin is a terminal (an operator typing, whose session may drop): sync hints at tmux/screen. */
  readonly stdinIsTTY?: boolean;
  /** Calls `listener` on each SIGHUP (the LB agent re-reads its inventory); returns the unsubscribe. */
  readonly onReload?: (listener: () => void) => () => void;
  /** Calls `listener` when the process exits (synchronously: write what is pending); returns the unsubscribe. */
  readonly onExit?: (listener: () => void) => () => void;
}
