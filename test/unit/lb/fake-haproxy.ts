import { RolloutError } from '../../../src/errors.js';
import type { AdminState, HaproxyRuntime, HaproxyServerState } from '../../../src/lb/haproxy.js';

interface FakeServer {
  admin: AdminState;
  weight: number;
  sessions: number;
}

/** An in-memory HAProxy: backends of servers, a call log, and injectable failures. */
export interface FakeHaproxy extends HaproxyRuntime {
  server(backend: string, server: string): FakeServer | undefined;
  addServer(backend: string, server: string, init?: Partial<FakeServer>): void;
  /** The next `count` commands fail like an unreachable socket. */
  failNext(count: number): void;
  readonly calls: string[];
  /** Runs inside the next `set server` command, before it takes effect (to race a watch event against it). */
  duringNextSet(hook: () => Promise<void>): void;
}

export function createFakeHaproxy(): FakeHaproxy {
  const backends = new Map<string, Map<string, FakeServer>>();
  const calls: string[] = [];
  let failures = 0;
  let hook: (() => Promise<void>) | undefined;
  const runHook = async (): Promise<void> => {
    const current = hook;
    hook = undefined;
    await current?.();
  };
  const check = (command: string): void => {
    calls.push(command);
    if (failures > 0) {
      failures -= 1;
      throw new RolloutError('E_HAPROXY', `HAProxy /fake.sock: ${command} failed: connect ECONNREFUSED`);
    }
  };
  const find = (backend: string, server: string): FakeServer => {
    const b = backends.get(backend);
    if (b === undefined)
      throw new RolloutError('E_HAPROXY', `HAProxy /fake.sock: ${backend}/${server}: No such backend.`);
    const s = b.get(server);
    if (s === undefined)
      throw new RolloutError('E_HAPROXY', `HAProxy /fake.sock: ${backend}/${server}: No such server.`);
    return s;
  };
  return {
    socketPath: '/fake.sock',
    calls,
    server: (backend, server) => backends.get(backend)?.get(server),
    addServer(backend, server, init = {}) {
      if (!backends.has(backend)) backends.set(backend, new Map());
      backends.get(backend)?.set(server, { admin: 'ready', weight: 10, sessions: 0, ...init });
    },
    failNext(count) {
      failures = count;
    },
    duringNextSet(next) {
      hook = next;
    },
    async showServersState(backend) {
      check(`show servers state ${backend ?? ''}`.trim());
      const list: HaproxyServerState[] = [];
      for (const [name, servers] of backends) {
        if (backend !== undefined && name !== backend) continue;
        for (const [server, s] of servers) {
          list.push({
            backend: name,
            server,
            address: '127.0.0.1',
            admin: s.admin,
            adminFlags: s.admin === 'maint' ? 1 : s.admin === 'drain' ? 8 : 0,
            opState: 2,
            weight: s.weight,
          });
        }
      }
      if (backend !== undefined && !backends.has(backend))
        throw new RolloutError(
          'E_HAPROXY',
          `HAProxy /fake.sock: show servers state for ${backend} failed: Can't find backend.`,
        );
      return list;
    },
    async setServerState(backend, server, state) {
      check(`set server ${backend}/${server} state ${state}`);
      await runHook();
      find(backend, server).admin = state;
    },
    async setServerWeight(backend, server, weight) {
      check(`set server ${backend}/${server} weight ${weight}`);
      await runHook();
      find(backend, server).weight = weight;
    },
    async serverSessions(backend, server) {
      check(`show stat ${backend}/${server}`);
      return find(backend, server).sessions;
    },
  };
}
