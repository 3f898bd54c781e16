import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import type { LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { Client as SshClient } from 'ssh2';
import { RolloutError } from '../errors.js';
import { forwardThrough, jumpLabel, parseJumpHost } from './jump.js';
import { createIdentityFiles } from './identity-files.js';
import { createKnownHostsFiles } from './known-hosts-index.js';
import { openConnection, where } from './ssh-connect.js';
import type { ConnectParams } from './ssh-connect.js';
import { runCommand, SessionOpenError } from './ssh-exec.js';
import type { ExecOptions, ExecResult, SshTarget, Transport } from './types.js';

export { PASSPHRASE_ENV } from './ssh-connect.js';

/** Options of the ssh2 transport. */
export interface SshTransportOptions {
  /** Commands in flight at once across all hosts (default 64). */
  readonly concurrency?: number;
  /** Sessions in flight on one connection; stays under OpenSSH's MaxSessions (10) by default (8). */
  readonly sessionsPerConnection?: number;
  /** Where SSH_AUTH_SOCK and ROLLOUT_SSH_PASSPHRASE are read (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Keepalive interval; the connection is dropped after 3 unanswered keepalives (default 15). */
  readonly keepaliveSeconds?: number;
  readonly log?: Logger;
}

/** Opens of one command's session on a live connection before the refusal is the command's failure. */
const SESSION_OPEN_ATTEMPTS = 5;

interface Connection {
  readonly key: string;
  readonly client: Promise<SshClient>;
  readonly sessions: LimitFunction;
  closed: boolean;
  /** Commands running on it now. */
  inFlight: number;
  /** Released by its host: closed as soon as nothing runs on it. */
  released: boolean;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function preview(command: string): string {
  return command.length > 80 ? `${command.slice(0, 77)}...` : command;
}

/**
 * The ssh2 adapter: one cached connection per `user@address:port` (and jump host), host keys
 * verified against known_hosts, fan-out bounded by `concurrency`.
 */
/** One abort signal shared by every connect in flight: a fleet opens hundreds at once. */
function newClosing(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

export function createSshTransport(options: SshTransportOptions = {}): Transport {
  const limit = pLimit(options.concurrency ?? 64);
  const env = options.env ?? process.env;
  const keepaliveSeconds = options.keepaliveSeconds ?? 15;
  const sessionsPerConnection = options.sessionsPerConnection ?? 8;
  const log = options.log;
  const cache = new Map<string, Connection>();
  const knownHostsFiles = createKnownHostsFiles();
  const identityFiles = createIdentityFiles();
  let closing = newClosing();

  function evict(conn: Connection): void {
    conn.closed = true;
    if (cache.get(conn.key) === conn) cache.delete(conn.key);
  }

  function cached(key: string, open: () => Promise<SshClient>): Connection {
    const existing = cache.get(key);
    if (existing !== undefined) {
      // Why: used again before it closed: its host is not done after all.
      existing.released = false;
      return existing;
    }
    const conn: Connection = {
      key,
      client: open(),
      sessions: pLimit(sessionsPerConnection),
      closed: false,
      inFlight: 0,
      released: false,
    };
    cache.set(key, conn);
    conn.client.then(
      (client) => {
        log?.debug({ connection: key }, 'ssh connection ready');
        const drop = (): void => {
          if (!conn.closed) log?.debug({ connection: key }, 'ssh connection dropped');
          evict(conn);
        };
        client.on('close', drop).on('end', drop).on('error', drop);
      },
      () => evict(conn),
    );
    return conn;
  }

  function params(target: SshTarget): ConnectParams {
    return {
      host: target.host,
      address: target.address,
      port: target.port,
      user: target.user,
      identityFile: target.identityFile,
      knownHosts: target.knownHosts,
      knownHostsFiles,
      identityFiles,
      acceptNewHostKeys: target.acceptNewHostKeys,
      connectTimeoutSeconds: target.connectTimeoutSeconds,
      keepaliveSeconds,
      env,
      signal: closing.signal,
    };
  }

  /** Closes a released connection once nothing runs on it; the next exec for its host opens a new one. */
  function endIfReleased(conn: Connection): void {
    if (!conn.released || conn.inFlight > 0 || conn.closed) return;
    evict(conn);
    conn.client.then(
      (client) => client.end(),
      () => undefined,
    );
  }

  function connectionKey(target: SshTarget): string {
    // Why: trust is decided per name and known_hosts file, so a connection is shared only by targets that would verify alike.
    const direct = `${target.user}@${target.address}:${target.port} as ${target.host} (${target.knownHosts}, ${target.identityFile ?? 'agent'})`;
    return target.jumpHost === undefined
      ? direct
      : `${direct} via ${jumpLabel(parseJumpHost(target.jumpHost, target.user, target.host))}`;
  }

  function connectionFor(target: SshTarget): Connection {
    const key = connectionKey(target);
    if (target.jumpHost === undefined) {
      return cached(key, () => {
        log?.debug({ host: target.host, address: target.address, port: target.port }, 'ssh connecting');
        return openConnection(params(target));
      });
    }
    const jump = parseJumpHost(target.jumpHost, target.user, target.host);
    const via = `via ${jumpLabel(jump)}`;
    return cached(key, async () => {
      // Why: the bastion is verified like any host, under its own name, with the target's key and known_hosts.
      const bastion = cached(
        `bastion ${jumpLabel(jump)} (${target.knownHosts}, ${target.identityFile ?? 'agent'})`,
        () =>
          openConnection({
            ...params(target),
            host: jump.host,
            address: jump.host,
            port: jump.port,
            user: jump.user,
          }),
      );
      const bastionClient = await bastion.client;
      log?.debug({ host: target.host, bastion: jumpLabel(jump) }, 'ssh connecting through jump host');
      let sock;
      try {
        sock = await forwardThrough(bastionClient, target.address, target.port);
      } catch (cause) {
        throw new RolloutError(
          'E_SSH_CONNECT',
          `${where({ ...target, via })}: the jump host could not reach the target: ${(cause as Error).message}; check the address, and that the bastion allows TCP forwarding (AllowTcpForwarding)`,
          { host: target.host, cause },
        );
      }
      return openConnection({ ...params(target), sock, via });
    });
  }

  /** Runs `work` under a time budget of its own, aborted by the caller's signal too; the budget's reason is the error. */
  async function budgeted<T>(
    target: SshTarget,
    says: { readonly timedOut: string; readonly aborted: string },
    options: ExecOptions,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const budget = new AbortController();
    const timer = setTimeout(
      () => budget.abort(new RolloutError('E_SSH_TIMEOUT', says.timedOut, { host: target.host })),
      options.timeoutMs,
    );
    const onAbort = (): void =>
      budget.abort(
        new RolloutError('E_INTERRUPTED', says.aborted, { host: target.host, cause: options.signal?.reason }),
      );
    if (options.signal?.aborted === true) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await work(budget.signal);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async function execOnce(target: SshTarget, command: string, options: ExecOptions): Promise<ExecResult> {
    const startedAt = Date.now();
    const at = where(target);
    const says = {
      timedOut: `${at}: command did not finish within ${seconds(options.timeoutMs)}, so TERM was requested and its channel closed: ${preview(command)}`,
      aborted: `${at}: command aborted, its channel closed: ${preview(command)}`,
    };
    return budgeted(target, says, options, async (signal) => {
      for (let attempt = 1; ; attempt += 1) {
        const conn = connectionFor(target);
        conn.inFlight += 1;
        try {
          const client = await raceAbort(conn.client, signal);
          return await raceAbort(
            conn.sessions(() => runCommand(client, command, signal, startedAt)),
            signal,
          );
        } catch (error) {
          if (!(error instanceof SessionOpenError)) throw error;
          // Why: a session that never opened ran nothing; if its connection died, retry once on a fresh one.
          await new Promise((resolve) => setImmediate(resolve));
          const dead = conn.closed || error.message === 'Not connected';
          if (dead) evict(conn);
          if (dead && attempt === 1) continue;
          // Why: sshd frees a session's MaxSessions slot only once it has reaped the command, a moment after
          // the client saw it end; on a live connection, an open refused then is retried after a short pause.
          if (!dead && attempt < SESSION_OPEN_ATTEMPTS) {
            await raceAbort(new Promise((resolve) => setTimeout(resolve, 25 * attempt)), signal);
            continue;
          }
          throw new RolloutError(
            'E_SSH_CONNECT',
            `${at}: cannot open an SSH session: ${error.message}; check sshd's MaxSessions and log`,
            { host: target.host, cause: error },
          );
        } finally {
          conn.inFlight -= 1;
          endIfReleased(conn);
        }
      }
    });
  }

  async function reachOnce(target: SshTarget, options: ExecOptions): Promise<void> {
    const at = where(target);
    const says = {
      timedOut: `${at}: no authenticated SSH connection within ${seconds(options.timeoutMs)}`,
      aborted: `${at}: SSH connect aborted`,
    };
    await budgeted(target, says, options, async (signal) => {
      const conn = connectionFor(target);
      conn.inFlight += 1;
      try {
        await raceAbort(conn.client, signal);
      } finally {
        conn.inFlight -= 1;
        endIfReleased(conn);
      }
    });
  }

  return {
    exec: (target, command, execOptions) => limit(() => execOnce(target, command, execOptions)),
    reach: (target, reachOptions) => limit(() => reachOnce(target, reachOptions)),
    release(target) {
      const conn = cache.get(connectionKey(target));
      if (conn === undefined) return;
      conn.released = true;
      endIfReleased(conn);
    },
    async close() {
      const all = [...cache.values()];
      cache.clear();
      // Why: a connect still in progress must not hold close() for its whole connect timeout.
      closing.abort();
      closing = newClosing();
      await Promise.all(
        all.map(async (conn) => {
          conn.closed = true;
          try {
            (await conn.client).end();
          } catch {
            // A connection that never opened has nothing to close.
          }
        }),
      );
    },
  };
}
