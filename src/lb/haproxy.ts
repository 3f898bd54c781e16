import { createConnection } from 'node:net';
import { RolloutError } from '../errors.js';

/** The admin states the agent sets through the runtime API (`set server … state`). */
export type AdminState = 'ready' | 'drain' | 'maint';

/** One server as reported by `show servers state`. */
export interface HaproxyServerState {
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  /** From the *forced* admin flags only (what the runtime API sets): maint wins over drain. */
  readonly admin: AdminState;
  /** srv_admin_state as HAProxy prints it (bit field: 0x01 forced maint, 0x08 forced drain, …). */
  readonly adminFlags: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  readonly opState: number;
  /** srv_uweight: the weight `set server … weight` changes. */
  readonly weight: number;
}

/** HAProxy's runtime API, as the LB agent needs it. Every failure is RolloutError E_HAPROXY. */
export interface HaproxyRuntime {
  readonly socketPath: string;
  /** Every server of the backend (all backends when omitted). */
  showServersState(backend?: string): Promise<HaproxyServerState[]>;
  setServerState(backend: string, server: string, state: AdminState): Promise<void>;
  setServerWeight(backend: string, server: string, weight: number): Promise<void>;
  /** Current sessions on the server (`show stat` scur). */
  serverSessions(backend: string, server: string): Promise<number>;
}

export interface HaproxyRuntimeOptions {
  /** Per command, connect included. Default 5000. */
  readonly timeoutMs?: number;
}

const FORCED_MAINT = 0x01;
const FORCED_DRAIN = 0x08;

export function createHaproxyRuntime(socketPath: string, options: HaproxyRuntimeOptions = {}): HaproxyRuntime {
  const timeoutMs = options.timeoutMs ?? 5000;
  const run = (command: string, target: string): Promise<string> => sendCommand(socketPath, command, timeoutMs, target);

  const setCommand = async (backend: string, server: string, args: string): Promise<void> => {
    checkName('backend', backend);
    checkName('server', server);
    const target = `${backend}/${server}`;
    const reply = (await run(`set server ${target} ${args}`, target)).trim();
    // Why: a successful `set server` answers with an empty line; anything else is HAProxy refusing.
    if (reply !== '') throw haproxyError(socketPath, target, `set server ${args}`, reply);
  };

  return {
    socketPath,
    async showServersState(backend) {
      if (backend !== undefined) checkName('backend', backend);
      const target = backend ?? 'all backends';
      const reply = await run(backend === undefined ? 'show servers state' : `show servers state ${backend}`, target);
      return parseServersState(reply, socketPath, target);
    },
    setServerState: (backend, server, state) => setCommand(backend, server, `state ${state}`),
    async setServerWeight(backend, server, weight) {
      if (!Number.isInteger(weight) || weight < 0 || weight > 256) {
        throw new RolloutError(
          'E_HAPROXY',
          `${backend}/${server}: weight must be an integer from 0 to 256, got ${weight}`,
        );
      }
      await setCommand(backend, server, `weight ${weight}`);
    },
    async serverSessions(backend, server) {
      checkName('backend', backend);
      checkName('server', server);
      const target = `${backend}/${server}`;
      const reply = await run(`show stat ${backend} 4 -1`, target);
      return parseScur(reply, socketPath, backend, server);
    },
  };
}

/** Parses `show servers state` (format version 1). Exported for tests. */
export function parseServersState(reply: string, socketPath: string, target: string): HaproxyServerState[] {
  const lines = reply.split('\n');
  if (lines[0]?.trim() !== '1') throw haproxyError(socketPath, target, 'show servers state', reply.trim());
  const header = (lines[1] ?? '').replace(/^#\s*/, '').split(/\s+/);
  const col = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0)
      throw haproxyError(socketPath, target, 'show servers state', `no column ${name} in "${lines[1] ?? ''}"`);
    return index;
  };
  const [be, name, addr, op, admin, weight] = [
    'be_name',
    'srv_name',
    'srv_addr',
    'srv_op_state',
    'srv_admin_state',
    'srv_uweight',
  ].map(col) as [number, number, number, number, number, number];
  return lines
    .slice(2)
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const fields = line.trim().split(/\s+/);
      const flags = Number(fields[admin]);
      return {
        backend: fields[be] ?? '',
        server: fields[name] ?? '',
        address: fields[addr] ?? '',
        admin: (flags & FORCED_MAINT) !== 0 ? 'maint' : (flags & FORCED_DRAIN) !== 0 ? 'drain' : 'ready',
        adminFlags: flags,
        opState: Number(fields[op]),
        weight: Number(fields[weight]),
      };
    });
}

function parseScur(reply: string, socketPath: string, backend: string, server: string): number {
  const target = `${backend}/${server}`;
  const lines = reply.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0]?.startsWith('# ') ? lines[0].slice(2).split(',') : undefined;
  if (header === undefined) throw haproxyError(socketPath, backend, 'show stat', reply.trim());
  const [px, sv, scur] = [header.indexOf('pxname'), header.indexOf('svname'), header.indexOf('scur')];
  for (const line of lines.slice(1)) {
    const fields = line.split(',');
    if (fields[px] === backend && fields[sv] === server) return Number(fields[scur] ?? 0) || 0;
  }
  throw haproxyError(socketPath, target, 'show stat', 'No such server.');
}

function checkName(what: string, name: string): void {
  // Why: a space or newline would smuggle a second command into the admin socket.
  if (name === '' || /[\s;]/.test(name))
    throw new RolloutError(
      'E_HAPROXY',
      `invalid HAProxy ${what} name ${JSON.stringify(name)}: it may not be empty or contain spaces or ';'`,
    );
}

function haproxyError(
  socketPath: string,
  target: string,
  command: string,
  reply: string,
  cause?: unknown,
): RolloutError {
  return new RolloutError(
    'E_HAPROXY',
    `HAProxy ${socketPath}: ${command} for ${target} failed: ${reply || '(empty reply)'}`,
    cause === undefined ? {} : { cause },
  );
}

/** One command per connection: HAProxy answers and closes (non-interactive mode). */
export function sendCommand(socketPath: string, command: string, timeoutMs: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = createConnection({ path: socketPath });
    const finish = (error: RolloutError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(
      () => finish(haproxyError(socketPath, target, command, `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(undefined));
    socket.on('close', () => finish(undefined));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const hint =
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? ' (is HAProxy running with `stats socket <path> level admin`?)'
          : error.code === 'EACCES'
            ? ' (no permission on the socket: run as its owner)'
            : '';
      finish(haproxyError(socketPath, target, command, `${error.message}${hint}`, error));
    });
  });
}
