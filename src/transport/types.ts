/** Where and how to reach one host over SSH (built from the inventory host). */
export interface SshTarget {
  /** The inventory name: used for known_hosts lookup and in every message. */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  readonly identityFile: string | undefined;
  readonly knownHosts: string;
  readonly jumpHost: string | undefined;
  readonly connectTimeoutSeconds: number;
  readonly acceptNewHostKeys: boolean;
}

export interface ExecOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface ExecResult {
  readonly exitCode: number | null;
  /** Set when the remote command died of a signal. */
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/**
 * Runs commands on hosts. A non-zero exit is a result, not an error: exec throws a
 * RolloutError (E_SSH_CONNECT, E_SSH_AUTH, E_SSH_HOSTKEY, E_SSH_TIMEOUT) only when the
 * command could not run or did not finish in time.
 */
export interface Transport {
  /** `command` is already rendered and quoted (see renderCommand). */
  exec(target: SshTarget, command: string, options: ExecOptions): Promise<ExecResult>;
  /**
   * Opens (or reuses) an authenticated connection, no session: proves the host is reachable and
   * trusts our key, at the cost of a handshake only. Throws as exec does.
   */
  reach(target: SshTarget, options: ExecOptions): Promise<void>;
  /**
   * Done with this host for the run: its connection is closed once its commands in flight end
   * (a later exec opens a new one), so a run holds connections for the hosts in flight only.
   */
  release(target: SshTarget): void;
  /** Closes every cached connection. */
  close(): Promise<void>;
}
