import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { realSleep } from '../deps.js';
import { describeError, EXIT, RolloutError } from '../errors.js';
import { loadInventory, resolveInventoryPath } from '../inventory/load.js';
import { DEFAULT_ETCD } from '../inventory/defaults.js';
import type { EtcdSettings } from '../inventory/types.js';
import { runLbAgent } from '../lb/agent.js';
import { DEFAULT_BACKEND_TEMPLATE, validateBackendTemplate } from '../lb/apply.js';
import { createHaproxyRuntime } from '../lb/haproxy.js';
import { parseListen, startAgentHttp } from '../lb/http.js';
import { createAgentMetrics } from '../lb/metrics.js';
import { AgentHealth, healthObserver, observers } from '../lb/observe.js';
import { connectEtcd } from '../kv/etcd-kv.js';
import { createV2Client } from '../kv/etcd-v2-client.js';
import { createV2PoolFeed } from '../pool/etcd-v2-watch.js';

export interface LbAgentArgs {
  /** For the etcd settings (then ROLLOUT_INVENTORY, then /etc/rollout/inventory.yaml); --etcd alone uses conftool's default prefix. */
  readonly inventoryFile?: string | undefined;
  readonly dc: string;
  readonly haproxySocket: string;
  readonly etcd?: readonly string[];
  readonly agentId?: string;
  readonly backendTemplate?: string;
  /** HOST:PORT for /healthz, /readyz and /metrics; off unless given. */
  readonly http?: string;
}

export interface LbAgentIo {
  /** Aborted by SIGINT/SIGTERM: the agent revokes its lease and returns. */
  readonly signal: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  /** For a relative inventory path; process.cwd() unless given. */
  readonly cwd?: string;
  /** JSON log; pino to stderr unless given. */
  readonly log?: Logger;
  /** SIGHUP: re-read the inventory (validated before anything changes). */
  readonly onReload?: (listener: () => void) => () => void;
}

/** Stable across restarts, so a restarted agent overwrites its own keys instead of leaving a twin. */
export function defaultAgentId(socketPath: string): string {
  return `${hostname()}:${socketPath}`;
}

function etcdSettings(args: LbAgentArgs, io: LbAgentIo, log: Logger): EtcdSettings {
  const named = [args.inventoryFile, io.env['ROLLOUT_INVENTORY']].some((p) => p !== undefined && p.trim() !== '');
  // Why: an LB host may have no inventory at all; --etcd alone is enough there.
  if (!named && args.etcd !== undefined && args.etcd.length > 0) return { ...DEFAULT_ETCD, endpoints: args.etcd };
  const file = resolveInventoryPath({ flag: args.inventoryFile, env: io.env, cwd: io.cwd ?? process.cwd() });
  return loadInventory(file, { onWarning: (message) => log.warn({ file }, message) }).etcd;
}

const sameEtcd = (a: EtcdSettings, b: EtcdSettings): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * `rollout lb-agent`: runs until the signal aborts; resolves the exit code. On SIGHUP it re-reads
 * the inventory: a broken one is refused (logged) and the running agent goes on; changed etcd
 * settings restart the agent on a new connection.
 */
export async function lbAgentCommand(args: LbAgentArgs, io: LbAgentIo): Promise<number> {
  const log = io.log ?? pino({ name: 'rollout-lb-agent' }, pino.destination(2));
  if (args.dc.trim() === '' || args.dc.includes('/'))
    throw new RolloutError('E_USAGE', `--dc ${JSON.stringify(args.dc)}: name one datacenter, e.g. --dc eqiad`);
  if (args.haproxySocket.trim() === '')
    throw new RolloutError(
      'E_USAGE',
      "--haproxy-socket: give the path of HAProxy's runtime API socket (stats socket … level admin)",
    );
  const backendTemplate = args.backendTemplate ?? DEFAULT_BACKEND_TEMPLATE;
  validateBackendTemplate(backendTemplate);
  const listen = args.http === undefined ? undefined : parseListen(args.http);
  let settings = etcdSettings(args, io, log);
  const endpoints = args.etcd && args.etcd.length > 0 ? args.etcd.flatMap((e) => e.split(',')) : undefined;
  const haproxy = createHaproxyRuntime(args.haproxySocket);
  // Why: fail at start on a wrong socket path or level, rather than retrying forever in silence.
  await haproxy.showServersState();
  const health = new AgentHealth();
  const metrics = createAgentMetrics();
  const tickMs = 1000;
  const server =
    listen === undefined
      ? undefined
      : await startAgentHttp(listen, health, metrics, { now: () => Date.now(), staleMs: 10 * tickMs });
  if (server) log.info({ url: server.url }, `lb-agent: /healthz, /readyz and /metrics on ${server.url}`);
  const observer = observers(healthObserver(health), metrics.observer);
  try {
    for (;;) {
      const restart = new AbortController();
      let next: EtcdSettings | undefined;
      const unsubscribe =
        io.onReload?.(() => {
          try {
            const reloaded = etcdSettings(args, io, log);
            if (sameEtcd(reloaded, settings))
              return void log.info('lb-agent: SIGHUP: inventory re-read and valid; nothing the agent uses changed');
            next = reloaded;
            log.info('lb-agent: SIGHUP: inventory re-read and valid; reconnecting to etcd with the new settings');
            restart.abort('reload');
          } catch (error) {
            log.error(
              { err: describeError(error) },
              `lb-agent: SIGHUP: the inventory is not usable (${describeError(error)}); keeping the running configuration`,
            );
          }
        }) ?? (() => undefined);
      try {
        const onWarning = (message: string): void => log.warn(message);
        const kv = await connectEtcd(settings, { ...(endpoints ? { endpoints } : {}), env: io.env, onWarning });
        // Why: on poolApi v2 the pool keys are conftool's v2 keys; registrations and confirmations stay on v3.
        const v2 =
          settings.poolApi === 'v2'
            ? createV2Client(settings, { ...(endpoints ? { endpoints } : {}), env: io.env, onWarning })
            : undefined;
        try {
          await runLbAgent(
            {
              kv,
              ...(v2 === undefined ? {} : { pool: createV2PoolFeed(v2) }),
              haproxy,
              log,
              sleep: realSleep,
              now: () => Date.now(),
              observer,
            },
            {
              dc: args.dc,
              prefix: settings.prefix,
              agentId: args.agentId ?? defaultAgentId(args.haproxySocket),
              haproxySocket: args.haproxySocket,
              signal: AbortSignal.any([io.signal, restart.signal]),
              backendTemplate,
              tickMs,
            },
          );
        } finally {
          v2?.close();
          await kv.close();
        }
      } finally {
        unsubscribe();
      }
      if (io.signal.aborted || next === undefined) return EXIT.ok;
      settings = next;
    }
  } finally {
    await server?.close();
  }
}
