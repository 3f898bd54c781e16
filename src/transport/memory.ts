import { realSleep } from '../deps.js';
import { RolloutError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { ExecOptions, ExecResult, SshTarget, Transport } from './types.js';

/** Decides what one command prints and how it exits; missing fields default to exit 0, no output. */
export type ScriptHandler = (command: string, target: SshTarget) => Partial<ExecResult> | Promise<Partial<ExecResult>>;

/** One recorded exec, in call order. */
export interface MemoryCall {
  readonly host: string;
  readonly command: string;
}

/**
 * An in-memory Transport for orchestrator tests. Hosts are keyed by inventory name; `'*'` sets
 * the behaviour of every host not set on its own. Every setter returns the transport, to chain.
 */
export interface MemoryTransport extends Transport {
  /** Every exec, including the ones that failed to "connect". */
  readonly calls: MemoryCall[];
  /** Hosts whose connection was opened without a command (reach), in call order. */
  readonly reaches: readonly string[];
  /** Hosts released (done for the run), in call order. */
  readonly released: readonly string[];
  /** How many times close() was called. */
  readonly closeCount: number;
  /** Commands on `host` are answered by `handler` (after any `respond` rule). */
  script(host: string, handler: ScriptHandler): MemoryTransport;
  /** A command equal to `match` (or matching the RegExp) on `host` answers `result`. */
  respond(host: string, match: string | RegExp, result: Partial<ExecResult>): MemoryTransport;
  /** Every command on `host` takes `ms` (through the injected sleep; a timeout or abort still wins). */
  delay(host: string, ms: number): MemoryTransport;
  /** Every command on `host` hangs until its timeout (E_SSH_TIMEOUT) or its signal. */
  hang(host: string): MemoryTransport;
  /** Every exec on `host` throws this code (E_SSH_CONNECT by default, or E_SSH_AUTH / E_SSH_HOSTKEY). */
  failConnect(
    host: string,
    code?: Extract<ErrorCode, 'E_SSH_CONNECT' | 'E_SSH_AUTH' | 'E_SSH_HOSTKEY'>,
  ): MemoryTransport;
  /** Forgets delay, hang and connect failure of `host` (scripts and rules stay). */
  heal(host: string): MemoryTransport;
  /** The commands run on one host, in order. */
  commandsOn(host: string): string[];
}

export interface MemoryTransportOptions {
  /** Used for delays and timeouts; inject a fake to run tests without waiting. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

interface HostBehaviour {
  handler?: ScriptHandler;
  rules: { match: string | RegExp; result: Partial<ExecResult> }[];
  delayMs: number;
  hang: boolean;
  connectFailure?: Extract<ErrorCode, 'E_SSH_CONNECT' | 'E_SSH_AUTH' | 'E_SSH_HOSTKEY'>;
}

const CONNECT_MESSAGES = {
  E_SSH_CONNECT: 'cannot connect: connect ECONNREFUSED (memory transport)',
  E_SSH_AUTH: 'authentication failed (memory transport)',
  E_SSH_HOSTKEY: 'unknown host key SHA256:memory (memory transport)',
} as const;

export function createMemoryTransport(options: MemoryTransportOptions = {}): MemoryTransport {
  const sleep = options.sleep ?? realSleep;
  const hosts = new Map<string, HostBehaviour>();
  const calls: MemoryCall[] = [];
  const reaches: string[] = [];
  const released: string[] = [];
  let closeCount = 0;

  const own = (host: string): HostBehaviour => {
    let behaviour = hosts.get(host);
    if (behaviour === undefined) {
      behaviour = { rules: [], delayMs: 0, hang: false };
      hosts.set(host, behaviour);
    }
    return behaviour;
  };
  const lookup = (host: string): HostBehaviour | undefined => hosts.get(host) ?? hosts.get('*');

  async function answer(
    behaviour: HostBehaviour | undefined,
    target: SshTarget,
    command: string,
  ): Promise<Partial<ExecResult>> {
    const rule = behaviour?.rules.find((r) =>
      typeof r.match === 'string' ? r.match === command : r.match.test(command),
    );
    if (rule !== undefined) return rule.result;
    return behaviour?.handler === undefined ? {} : behaviour.handler(command, target);
  }

  async function exec(target: SshTarget, command: string, execOptions: ExecOptions): Promise<ExecResult> {
    const { timeoutMs, signal } = execOptions;
    calls.push({ host: target.host, command });
    const at = `${target.host} (${target.address}:${target.port})`;
    const behaviour = lookup(target.host);
    if (behaviour?.connectFailure !== undefined) {
      throw new RolloutError(behaviour.connectFailure, `${at}: ${CONNECT_MESSAGES[behaviour.connectFailure]}`, {
        host: target.host,
      });
    }
    const timedOut = (): RolloutError =>
      new RolloutError('E_SSH_TIMEOUT', `${at}: command did not finish within ${timeoutMs}ms: ${command}`, {
        host: target.host,
      });
    const aborted = (cause: unknown): RolloutError =>
      new RolloutError('E_INTERRUPTED', `${at}: command aborted: ${command}`, { host: target.host, cause });
    const wait = async (ms: number, until: AbortSignal | undefined): Promise<void> => {
      try {
        await sleep(ms, until);
      } catch (error) {
        throw aborted(error);
      }
    };
    if (signal?.aborted === true) throw aborted(signal.reason);
    const delayMs = behaviour?.delayMs ?? 0;
    if (behaviour?.hang === true || delayMs >= timeoutMs) {
      await wait(timeoutMs, signal);
      throw timedOut();
    }
    if (delayMs > 0) await wait(delayMs, signal);
    // Why: a slow async handler is bounded by the rest of the timeout, like a real command.
    const stopTimer = new AbortController();
    const onAbort = (): void => stopTimer.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = wait(timeoutMs - delayMs, stopTimer.signal).then(() => {
      throw timedOut();
    });
    timer.catch(() => undefined);
    try {
      const result = await Promise.race([answer(behaviour, target, command), timer]);
      return { exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: delayMs, ...result };
    } catch (error) {
      // Why: re-read the signal; TypeScript narrowed it before the await.
      if ((signal as AbortSignal | undefined)?.aborted === true) throw aborted(signal?.reason);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stopTimer.abort();
    }
  }

  const transport: MemoryTransport = {
    calls,
    get closeCount() {
      return closeCount;
    },
    exec,
    async reach(target, reachOptions) {
      // Why: a connect is observable as a call too, so tests see the pre-check without a session.
      reaches.push(target.host);
      const behaviour = lookup(target.host);
      if (behaviour?.connectFailure !== undefined) {
        throw new RolloutError(
          behaviour.connectFailure,
          `${target.host} (${target.address}:${target.port}): ${CONNECT_MESSAGES[behaviour.connectFailure]}`,
          { host: target.host },
        );
      }
      if (behaviour?.hang === true) {
        await sleep(reachOptions.timeoutMs, reachOptions.signal).catch(() => undefined);
        throw new RolloutError(
          'E_SSH_TIMEOUT',
          `${target.host} (${target.address}:${target.port}): no SSH connection within ${reachOptions.timeoutMs}ms`,
          { host: target.host },
        );
      }
    },
    release(target) {
      released.push(target.host);
    },
    reaches,
    released,
    close() {
      closeCount += 1;
      return Promise.resolve();
    },
    script(host, handler) {
      own(host).handler = handler;
      return transport;
    },
    respond(host, match, result) {
      own(host).rules.push({ match, result });
      return transport;
    },
    delay(host, ms) {
      own(host).delayMs = ms;
      return transport;
    },
    hang(host) {
      own(host).hang = true;
      return transport;
    },
    failConnect(host, code = 'E_SSH_CONNECT') {
      own(host).connectFailure = code;
      return transport;
    },
    heal(host) {
      const behaviour = own(host);
      behaviour.delayMs = 0;
      behaviour.hang = false;
      delete behaviour.connectFailure;
      return transport;
    },
    commandsOn: (host) => calls.filter((c) => c.host === host).map((c) => c.command),
  };
  return transport;
}
