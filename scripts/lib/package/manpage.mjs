// rollout.1, generated at build time from the CLI's own help by Debian's help2man. help2man reads
// only `rollout --help`, so each subcommand's `--help` goes in through an --include file: every
// command the top-level help lists gets its own subsection, and a new command appears by itself.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The command names of yargs' top-level help ("Commands:" block, `  rollout sync  …`). */
export function commandNames(topHelp) {
  const block = topHelp.split(/\n\s*\n/).find((part) => part.startsWith('Commands:')) ?? '';
  return [...block.matchAll(/^ {2}rollout ([a-z][a-z-]*)/gm)].map((m) => m[1]);
}

/** Text as roff that prints as is: backslashes escaped, no line read as a request. */
export const roffLiteral = (text) =>
  text
    .replace(/\\/g, '\\e')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');

function includeFile(cli, env) {
  const help = (args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
  const sections = ['[NAME]', 'rollout \\- rolling restarts of PHP-FPM fleets without dropping a request', ''];
  sections.push('[COMMANDS]', 'Each command has its own options; `rollout COMMAND --help` prints them.', '');
  for (const name of commandNames(help(['--help']))) {
    sections.push(`.SS "rollout ${name}"`, '.nf', roffLiteral(help([name, '--help']).trimEnd()), '.fi', '');
  }
  sections.push(
    '[EXIT STATUS]',
    '0 every host done; 1 finished with failed hosts or stopped by the failure budget; 2 usage, configuration',
    'or inventory error (nothing was changed); 3 a selected cluster is held: another rollout holds the lock, or a',
    'deploy freeze covers it; 4 refused by the capacity guard; 5 etcd unreachable; 130 interrupted (also SIGHUP).',
    '',
    '[FILES]',
    '.TP',
    '.I /etc/rollout/inventory.yaml',
    'The default inventory (or \\fB\\-i\\fR FILE, or $ROLLOUT_INVENTORY).',
    '.TP',
    '.I /etc/default/rollout-lb-agent',
    'Environment of the LB agent unit, rollout\\-lb\\-agent@.service (one instance per datacenter).',
    '.TP',
    '.I /usr/share/doc/rollout/',
    'The documentation (production.md first) and an example inventory.',
    '',
    '[SEE ALSO]',
    'The documentation in /usr/share/doc/rollout/, starting with production.md.',
    '',
  );
  return sections.join('\n');
}

/**
 * Writes <out>/rollout.1.gz for the staged CLI `cli` (bin/rollout.js). help2man runs the CLI
 * through a wrapper, so the CLI needs no executable bit or shebang of its own here.
 */
export function buildManPage({ cli, out, tmp, env, version }) {
  const include = path.join(tmp, 'rollout.h2m');
  fs.writeFileSync(include, includeFile(cli, env));
  const wrapper = path.join(tmp, 'rollout');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${cli}' "$@"\n`, { mode: 0o755 });
  const page = path.join(tmp, 'rollout.1');
  execFileSync(
    'help2man',
    [
      '--no-info',
      '--section=1',
      `--source=rollout ${version}`,
      '--manual=User Commands',
      `--version-string=${version}`,
      `--include=${include}`,
      '-o',
      page,
      wrapper,
    ],
    { env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  // Why: -n keeps the build time out of the gzip header, so the same sources give the same page.
  execFileSync('gzip', ['-9nf', page]);
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(`${page}.gz`, path.join(out, 'rollout.1.gz'));
}
