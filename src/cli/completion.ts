import fs from 'node:fs';
import path from 'node:path';
import { loadInventory, resolveInventoryPath } from '../inventory/load.js';
import { defaultLogFile } from '../log.js';

/** Names from the inventory that complete positionals and --dc/--cluster. */
export interface CompletionNames {
  readonly dcs: readonly string[];
  readonly clusters: readonly string[];
  readonly hosts: readonly string[];
  /** Run ids of the logs in the default log directory (`rollout report`). */
  readonly runIds: readonly string[];
}

// Why: a word after one of these is its value, not a positional.
const VALUE_OPTIONS = new Set([
  '-i',
  '--inventory',
  '--etcd',
  '--log-file',
  '--dc',
  '--cluster',
  '--release',
  '--batch-size',
  '--batch-mode',
  '--failure-budget',
  '--parallel-clusters',
  '--capacity-wait',
  '--wait-lock',
  '--ssh-concurrency',
  '--reason',
  '--service',
  '--grace',
  '--haproxy-socket',
  '--agent-id',
  '--backend-template',
  '--http',
  '-o',
  '--output',
  '--load',
  '--deadline',
  '--pace',
  '--until',
  '--resume',
]);
const CLUSTER_DC_COMMANDS = new Set(['restart', 'plan', 'status']);

/**
 * What to offer for the last word of `words` (the command line, program name first, the word
 * being completed last), or null for yargs' own completion (commands and options). Pure.
 */
export function completeWords(words: readonly string[], names: CompletionNames): readonly string[] | null {
  const previous = words.length >= 2 ? words[words.length - 2] : undefined;
  if (previous === '--dc') return names.dcs;
  if (previous === '--cluster') return names.clusters;
  if (previous !== undefined && VALUE_OPTIONS.has(previous)) return []; // a file or free text: the shell's default
  const current = words[words.length - 1] ?? '';
  if (current.startsWith('-')) return null;
  const positionals: string[] = [];
  for (let i = 1; i < words.length - 1; i += 1) {
    const word = words[i] ?? '';
    if (word.startsWith('-')) {
      if (VALUE_OPTIONS.has(word) && !word.includes('=')) i += 1;
      continue;
    }
    positionals.push(word);
  }
  const [command] = positionals;
  if (command === undefined) return null;
  if (CLUSTER_DC_COMMANDS.has(command))
    return positionals.length === 1 ? names.clusters : positionals.length === 2 ? names.dcs : [];
  if (command === 'depool' || command === 'pool') return names.hosts;
  if (command === 'report') return positionals.length === 1 ? names.runIds : [];
  return null;
}

/** The names of the inventory the command line names (or the default one); none when it cannot be read. */
export function completionNames(words: readonly string[], env: NodeJS.ProcessEnv, cwd: string): CompletionNames {
  const flagAt = words.findIndex((w) => w === '-i' || w === '--inventory');
  const flag =
    flagAt >= 0 ? words[flagAt + 1] : words.find((w) => w.startsWith('--inventory='))?.slice('--inventory='.length);
  let dcs: string[] = [];
  let clusters: string[] = [];
  let hosts: string[] = [];
  try {
    const inventory = loadInventory(resolveInventoryPath({ ...(flag ? { flag } : {}), env, cwd }));
    dcs = inventory.datacenters.map((d) => d.name);
    clusters = [...new Set(inventory.datacenters.flatMap((d) => d.clusters.map((c) => c.name)))];
    hosts = inventory.datacenters.flatMap((d) => d.clusters.flatMap((c) => c.hosts.map((h) => h.name)));
  } catch {
    // Why: completion must never print an error into the user's prompt; no inventory, no names.
  }
  return { dcs, clusters, hosts, runIds: runIdsIn(path.dirname(defaultLogFile('x', env))) };
}

function runIdsIn(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => f.slice(0, -'.log'.length))
      .sort()
      .reverse();
  } catch {
    return [];
  }
}

const BASH = `###-begin-rollout-completions-###
# rollout completion for bash. Install: rollout completion bash > /etc/bash_completion.d/rollout
# (or: source <(rollout completion bash) in ~/.bashrc)
_rollout_completions()
{
    local cur_word type_list
    cur_word="\${COMP_WORDS[COMP_CWORD]}"
    mapfile -t type_list < <(rollout --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)
    mapfile -t COMPREPLY < <(compgen -W "\${type_list[*]}" -- "\${cur_word}")
    return 0
}
complete -o bashdefault -o default -F _rollout_completions rollout
###-end-rollout-completions-###
`;

const ZSH = `#compdef rollout
###-begin-rollout-completions-###
# rollout completion for zsh. Install: rollout completion zsh > "\${fpath[1]}/_rollout"
# (or: source <(rollout completion zsh) in ~/.zshrc, after compinit)
_rollout_completions()
{
  local reply
  local si=$IFS
  IFS=$'\\n' reply=($(SHELL=zsh rollout --get-yargs-completions "\${words[@]:0:$CURRENT}" 2>/dev/null))
  IFS=$si
  if [[ \${#reply} -gt 0 ]]; then
    _describe 'values' reply
  else
    _default
  fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _rollout_completions "$@"
else
  compdef _rollout_completions rollout
fi
###-end-rollout-completions-###
`;

/** The script `rollout completion bash|zsh` prints; both ask `rollout --get-yargs-completions` (yargs) for the words. */
export function completionScript(shell: 'bash' | 'zsh'): string {
  return shell === 'bash' ? BASH : ZSH;
}
