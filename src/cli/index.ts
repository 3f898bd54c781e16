import yargs, { type Argv } from 'yargs';
import { EXIT, isRolloutError, RolloutError } from '../errors.js';
import type { Io } from './io.js';
import { renderError } from './render-error.js';
import { durationOption, numberOption } from './numbers.js';
import { completeWords, completionNames, completionScript } from './completion.js';
import { readVersionInfo, versionText } from './version.js';

type Action = () => Promise<number>;

const list = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value])
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter(Boolean);

/** --batch-mode on sync, restart and plan: replaces every cluster's batch.mode. */
const BATCH_MODE_OPTION = {
  type: 'string',
  choices: ['window', 'barrier'],
  describe: 'override batch.mode: window (a host starts as a slot frees) or barrier (batch by batch)',
} as const;

function common(y: Argv): Argv {
  return y
    .option('inventory', {
      alias: 'i',
      type: 'string',
      describe: 'inventory file (default: $ROLLOUT_INVENTORY, else /etc/rollout/inventory.yaml)',
    })
    .option('etcd', { type: 'string', array: true, describe: 'etcd endpoint(s), overriding the inventory' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
    .option('log-file', { type: 'string', describe: 'JSON log file (default under $XDG_STATE_HOME/rollout/)' });
}

function runOptions(y: Argv): Argv {
  return y
    .option('emergency', {
      type: 'boolean',
      default: false,
      describe: 'hard restart, no depool/drain/repool, same batches',
    })
    .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask for confirmation' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and change nothing' })
    .option('release', { type: 'string', describe: 'the release id every host must serve after its restart' })
    .option('if-opcache-above', {
      type: 'string',
      describe: 'restart only hosts whose opcache use is above this, like "80%" (not with --release)',
    })
    .option('batch-size', { type: 'string', describe: 'override batch.size: 3, "10%" or a ramp "1,10%,25%"' })
    .option('batch-mode', BATCH_MODE_OPTION)
    .option('failure-budget', {
      type: 'string',
      describe: 'failed hosts per cluster before stopping: a count or a percentage',
    })
    .option('parallel-clusters', numberOption('parallel-clusters', 'clusters restarted at once (default 5)'))
    .option('capacity-wait', numberOption('capacity-wait', 'seconds to wait for capacity before giving up (exit 4)'))
    .option(
      'wait-lock',
      numberOption('wait-lock', 'seconds to wait for a locked cluster (default: fail at once, exit 3)', 0),
    )
    .option('ssh-concurrency', numberOption('ssh-concurrency', 'SSH connections at once (default 64)'))
    .option(
      'max-concurrency',
      numberOption(
        'max-concurrency',
        'fleet-wide cap: hosts of a service restarting at once across every run (run.maxConcurrentRestarts)',
      ),
    )
    .option('skip-canary-gate', {
      type: 'boolean',
      default: false,
      describe: 'canaries still go first, but no gate judges them (recorded in the log)',
    })
    .option('reason', { type: 'string', describe: 'why, recorded in the lock and the journal' })
    .option(
      'deadline',
      durationOption(
        'deadline',
        'past this long (e.g. 45m) nothing new starts; the run ends as on abort (run.deadline)',
      ),
    )
    .option('pace', durationOption('pace', 'least time between two dispatches in a cluster, e.g. 30s (run.pace)'))
    .option('resume', {
      type: 'string',
      describe: 'RUN: restart only the hosts that stopped run did not finish (its selection; see docs/commands.md)',
    })
    .option('ignore-freeze', {
      type: 'boolean',
      default: false,
      describe: 'run although a deploy freeze covers the selection (logged; the first event says so)',
    });
}

/** The arguments of `rollout pause|resume|abort [run]`. */
function steerArgs(kind: 'pause' | 'resume' | 'abort', a: Record<string, unknown>) {
  return {
    ...a,
    action: kind,
    ...(typeof a['run'] === 'string' ? { run: a['run'] } : {}),
    ...(typeof a['reason'] === 'string' ? { reason: a['reason'] } : {}),
  };
}

function steerTarget(y: Argv): Argv {
  return common(y).positional('run', { type: 'string', describe: 'the run id (default: the only live run)' });
}

/** The arguments of `rollout freeze|unfreeze`. */
function freezeArgs(kind: 'freeze' | 'unfreeze', a: Record<string, unknown>) {
  const pick = (name: string) => (typeof a[name] === 'string' ? { [name]: a[name] as string } : {});
  return { ...a, action: kind, ...pick('dc'), ...pick('cluster'), ...pick('reason'), ...pick('until') };
}

function freezeScope(y: Argv): Argv {
  return common(y)
    .option('dc', { type: 'string', describe: 'only this datacenter (default: every one)' })
    .option('cluster', { type: 'string', describe: 'only this cluster (default: every one)' });
}

function manualOptions(y: Argv): Argv {
  return common(y)
    .positional('hosts', { type: 'string', array: true })
    .option('reason', { type: 'string', demandOption: true, describe: 'why (shown by `rollout status`)' })
    .option('force', { type: 'boolean', default: false, describe: 'depool even below minPooled' })
    .option('service', { type: 'string', describe: 'only this pool of a host in several (default: every one)' });
}

/** Ctrl-C at a prompt rejects readline's question with an AbortError: an interruption, not a bug. */
function interruptible(confirm: Io['confirm']): Io['confirm'] {
  if (!confirm) return null;
  return async (question) => {
    try {
      return await confirm(question);
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError')
        throw new RolloutError('E_INTERRUPTED', 'interrupted at the confirmation prompt: nothing was changed', {
          cause: error,
        });
      throw error;
    }
  };
}

/** Parses argv and runs the chosen command; resolves the exit code. Only main.ts applies it. */
export async function runCli(argv: readonly string[], rawIo: Io): Promise<number> {
  const io: Io = { ...rawIo, confirm: interruptible(rawIo.confirm) };
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.stdout.write(versionText(readVersionInfo()));
    return EXIT.ok;
  }
  let action: Action | undefined;
  let usageError: string | undefined;
  const parser = yargs([...argv])
    .scriptName('rollout')
    // Why: `status --etcd URL appserver eqiad` must not read the positionals as more endpoints; repeat the flag or use commas.
    .parserConfiguration({ 'greedy-arrays': false })
    .usage(
      '$0 <command> [options]\n\nRolling restarts of PHP-FPM fleets without dropping a request.\n`rollout --version` prints the version and the commit.',
    )
    .command(
      'sync',
      'rolling restart of every selected cluster in every selected datacenter (after a deploy)',
      (y) =>
        runOptions(common(y))
          .option('dc', { type: 'string', array: true, describe: 'datacenter(s) (repeatable; default all)' })
          .option('cluster', { type: 'string', array: true, describe: 'cluster(s) (repeatable; default all)' }),
      (a) => {
        action = async () =>
          (await import('../commands/sync.js')).syncCommand(
            { ...a, kind: 'sync', dcs: list(a['dc']), clusters: list(a['cluster']) },
            io,
          );
      },
    )
    .command(
      'restart <cluster> <dc>',
      'rolling restart of one cluster in one datacenter',
      (y) => runOptions(common(y)).positional('cluster', { type: 'string' }).positional('dc', { type: 'string' }),
      (a) => {
        action = async () =>
          (await import('../commands/sync.js')).syncCommand(
            { ...a, kind: 'restart', dcs: [String(a['dc'])], clusters: [String(a['cluster'])] },
            io,
          );
      },
    )
    .command(
      'plan [cluster] [dc]',
      'print the batches and their arithmetic from live pool state; writes nothing',
      (y) =>
        common(y)
          .positional('cluster', { type: 'string', describe: 'one cluster (with dc: like `restart <cluster> <dc>`)' })
          .positional('dc', { type: 'string' })
          .option('dc', { type: 'string', array: true })
          .option('cluster', { type: 'string', array: true })
          .option('emergency', { type: 'boolean', default: false })
          .option('batch-size', { type: 'string' })
          .option('batch-mode', BATCH_MODE_OPTION)
          .option('release', {
            type: 'string',
            describe: 'the release the run would check for (templates naming {release} need it)',
          })
          .option('skip-canary-gate', { type: 'boolean', default: false })
          .option('offline', {
            type: 'boolean',
            default: false,
            describe: 'treat every host as pooled: yes (no etcd)',
          }),
      (a) => {
        action = async () =>
          (await import('../commands/plan.js')).planCommand(
            { ...a, dcs: list(a['dc']), clusters: list(a['cluster']) },
            io,
          );
      },
    )
    .command(
      'status [cluster] [dc]',
      'pool state of the fleet, who depooled what, locks and unfinished runs',
      (y) =>
        common(y).positional('cluster', { type: 'string' }).positional('dc', { type: 'string' }).option('runs', {
          type: 'boolean',
          default: false,
          describe: 'only the live runs (state, who, progress per cluster) and the freezes; with --json as one object',
        }),
      (a) => {
        action = async () => (await import('../commands/status.js')).statusCommand(a, io);
      },
    )
    .command(
      'pause [run]',
      'pause a running rollout from any machine: nothing new starts, hosts in flight finish and are repooled',
      (y) =>
        steerTarget(y).option('reason', {
          type: 'string',
          demandOption: true,
          describe: "why (shown to the run's operator)",
        }),
      (a) => {
        action = async () => (await import('../commands/steer.js')).steerCommand(steerArgs('pause', a), io);
      },
    )
    .command('resume [run]', 'resume a paused rollout', steerTarget, (a) => {
      action = async () => (await import('../commands/steer.js')).steerCommand(steerArgs('resume', a), io);
    })
    .command(
      'abort [run]',
      'stop a running rollout as Ctrl-C would: running steps finish, healthy hosts are repooled, it exits 1',
      (y) =>
        steerTarget(y).option('reason', { type: 'string', demandOption: true, describe: 'why (named in its summary)' }),
      (a) => {
        action = async () => (await import('../commands/steer.js')).steerCommand(steerArgs('abort', a), io);
      },
    )
    .command(
      'freeze',
      'refuse every new sync/restart in scope (exit 3) until `rollout unfreeze`',
      (y) =>
        freezeScope(y)
          .option('reason', { type: 'string', demandOption: true, describe: 'why (every refused run shows it)' })
          .option('until', { type: 'string', describe: 'lapses then: a time (ISO 8601) or a duration from now (2h)' }),
      (a) => {
        action = async () => (await import('../commands/freeze.js')).freezeCommand(freezeArgs('freeze', a), io);
      },
    )
    .command('unfreeze', 'lift the freeze set on exactly this scope', freezeScope, (a) => {
      action = async () => (await import('../commands/freeze.js')).freezeCommand(freezeArgs('unfreeze', a), io);
    })
    .command(
      'depool <hosts..>',
      'depool hosts by hand (refused below minPooled unless --force), recorded with a reason',
      manualOptions,
      (a) => {
        action = async () =>
          (await import('../commands/pool.js')).poolCommand({ ...a, action: 'depool', hosts: list(a['hosts']) }, io);
      },
    )
    .command(
      'pool <hosts..>',
      'pool hosts by hand (creates a missing pool key), recorded with a reason',
      manualOptions,
      (a) => {
        action = async () =>
          (await import('../commands/pool.js')).poolCommand({ ...a, action: 'pool', hosts: list(a['hosts']) }, io);
      },
    )
    .command(
      'recover',
      'repool, after checking health, the hosts a dead rollout left depooled',
      (y) =>
        common(y)
          .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'act (without it: show and ask)' })
          .option('forget', {
            type: 'string',
            describe:
              'RUN: drop what that stopped run kept for `--resume` (its journal too, when it lists no depooled host)',
          })
          .option('wait', {
            type: 'boolean',
            default: true,
            describe: 'wait out a dead run still inside --grace (--no-wait: exit 75 and say when to retry)',
          })
          .option(
            'grace',
            numberOption(
              'grace',
              'leave a dead run alone until its last journal write is this many seconds old (it may still be finishing a step)',
              20,
            ),
          ),
      (a) => {
        action = async () => (await import('../commands/recover.js')).recoverCommand(a, io);
      },
    )
    .command(
      'lb-agent',
      'follow the pool state in etcd and apply it to HAProxy, confirming each change',
      (y) =>
        common(y)
          .option('dc', { type: 'string', demandOption: true, describe: 'the datacenter this load balancer serves' })
          .option('haproxy-socket', {
            type: 'string',
            demandOption: true,
            describe: 'HAProxy runtime API socket (level admin)',
          })
          .option('agent-id', { type: 'string', describe: 'stable id (default <hostname>:<socket>)' })
          .option('backend-template', {
            type: 'string',
            describe: 'HAProxy backend name for a cluster (default {dc}_{cluster})',
          })
          .option('http', {
            type: 'string',
            describe: 'serve /healthz, /readyz and /metrics on HOST:PORT (off by default), e.g. 127.0.0.1:9412',
          }),
      (a) => {
        action = async () =>
          (await import('../commands/lb-agent.js')).lbAgentCommand(
            {
              inventoryFile: a['inventory'] as string | undefined,
              dc: String(a['dc']),
              haproxySocket: String(a['haproxy-socket']),
              ...(a['etcd'] ? { etcd: list(a['etcd']) } : {}),
              ...(a['agent-id'] ? { agentId: String(a['agent-id']) } : {}),
              ...(a['backend-template'] ? { backendTemplate: String(a['backend-template']) } : {}),
              ...(a['http'] ? { http: String(a['http']) } : {}),
            },
            { signal: io.stop, env: io.env, cwd: io.cwd, ...(io.onReload ? { onReload: io.onReload } : {}) },
          );
      },
    )
    .command(
      'report <run>',
      'one self-contained HTML page of a run: a timeline per host, batches, failures, totals',
      (y) =>
        y
          .positional('run', {
            type: 'string',
            describe: 'a run id (its log under $XDG_STATE_HOME/rollout/) or a log file (or --json output)',
          })
          .option('output', { alias: 'o', type: 'string', describe: 'the HTML file to write (default ./<runId>.html)' })
          .option('load', { type: 'string', describe: 'per-second load figures (JSON, docs/commands.md) to overlay' }),
      (a) => {
        action = async () =>
          (await import('../commands/report.js')).reportCommand(
            {
              run: String(a['run']),
              ...(a['output'] ? { output: String(a['output']) } : {}),
              ...(a['load'] ? { load: String(a['load']) } : {}),
            },
            io,
          );
      },
    )
    .command(
      'completion <shell>',
      "print a shell completion script (commands, options, and the inventory's clusters, datacenters and hosts)",
      (y) => y.positional('shell', { type: 'string', choices: ['bash', 'zsh'] }),
      (a) => {
        action = async () => {
          io.stdout.write(completionScript(a['shell'] === 'zsh' ? 'zsh' : 'bash'));
          return EXIT.ok;
        };
      },
    )
    // Why: yargs answers the scripts' `--get-yargs-completions`; its own script command stays hidden under another name.
    .completion(
      'get-yargs-completion-script',
      false,
      (_current: string, _argv: unknown, fallback: () => void, done: (completions: string[]) => void) => {
        const words = argv.slice(argv.indexOf('--get-yargs-completions') + 1);
        const own = completeWords(words, completionNames(words, io.env, io.cwd));
        if (own === null) fallback();
        else done([...own]);
      },
    )
    .demandCommand(
      1,
      'name a command: sync, restart, plan, status, pause, resume, abort, freeze, unfreeze, pool, depool, recover, lb-agent, report, completion',
    )
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error && isRolloutError(error)) throw error;
      usageError = message ?? error?.message ?? 'invalid arguments';
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    if (!isRolloutError(error)) usageError ??= error instanceof Error ? error.message : String(error);
    else return report(io, error);
  }
  if (usageError !== undefined) {
    io.stderr.write(`rollout: ${usageError}\nrun \`rollout --help\` for usage\n`);
    return EXIT.usage;
  }
  if (!action) return EXIT.ok; // --help was printed
  try {
    return await action();
  } catch (error) {
    return report(io, error);
  }
}

function report(io: Io, error: unknown): number {
  io.stderr.write(renderError(error));
  if (isRolloutError(error)) return error.exitCode;
  return new RolloutError('E_INTERNAL', 'internal error').exitCode;
}
