import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit } from '../support/explain.js';
import { BIN, inventoryYaml, rollout, scratch, writeFile } from './cli.js';

let dir: string;
let remove: () => void;
let script: string;
let inventory: string;

beforeAll(async () => {
  ({ dir, remove } = scratch());
  inventory = writeFile(
    dir,
    'inventory.yaml',
    inventoryYaml('http://127.0.0.1:1', [
      { dc: 'eqiad', name: 'appserver', hosts: 'mw[1001-1002].eqiad.wmnet' },
      { dc: 'eqiad', name: 'api', hosts: 'mw[1101-1102].eqiad.wmnet' },
      { dc: 'codfw', name: 'appserver', hosts: 'mw[2001-2002].codfw.wmnet' },
    ]),
  );
  // The script calls `rollout` from PATH, as an installed one would.
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.symlinkSync(BIN, path.join(dir, 'bin', 'rollout'));
  const r = await rollout(['completion', 'bash']);
  expectExit(r, 0);
  script = writeFile(dir, 'rollout.bash', r.stdout);
});
afterAll(() => remove());

/** Loads the script in a clean bash, sets the words as bash would for <TAB> on the last one, and returns COMPREPLY. */
function complete(words: readonly string[], env: NodeJS.ProcessEnv = {}): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const body = `source '${script}' && complete -p rollout >/dev/null && COMP_WORDS=(${quoted}) && COMP_CWORD=${words.length - 1} && _rollout_completions && printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', body], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: `${path.join(dir, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: dir,
      XDG_STATE_HOME: path.join(dir, 'state'),
      ...env,
    },
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

describe('rollout completion', { timeout: 120_000 }, () => {
  it('completes a command in bash', () => {
    expect(complete(['rollout', 'sta'])).toEqual(['status']);
    expect(complete(['rollout', 're'])).toEqual(['restart', 'resume', 'recover', 'report']);
  });

  it('completes cluster and datacenter names from the inventory of -i', () => {
    expect(complete(['rollout', 'restart', '-i', inventory, 'ap'])).toEqual(['appserver', 'api']);
    expect(complete(['rollout', 'restart', '-i', inventory, 'api', ''])).toEqual(['eqiad', 'codfw']);
    expect(complete(['rollout', 'sync', '-i', inventory, '--dc', 'c'])).toEqual(['codfw']);
  });

  it('reads the inventory of ROLLOUT_INVENTORY, and host names for depool', () => {
    expect(complete(['rollout', 'depool', 'mw20'], { ROLLOUT_INVENTORY: inventory })).toEqual([
      'mw2001.codfw.wmnet',
      'mw2002.codfw.wmnet',
    ]);
  });

  it('completes options of the command', () => {
    expect(complete(['rollout', 'sync', '--emer'])).toEqual(['--emergency']);
  });

  it('offers no names, and prints no error, without a readable inventory', () => {
    expect(complete(['rollout', 'status', ''], { ROLLOUT_INVENTORY: path.join(dir, 'missing.yaml') })).toEqual([]);
  });

  it('prints a zsh script, and zsh-style "name:description" completions', async () => {
    const zsh = await rollout(['completion', 'zsh']);
    expectExit(zsh, 0);
    expect(zsh.stdout).toMatch(/^#compdef rollout\n/);
    expect(zsh.stdout).toContain('compdef _rollout_completions rollout');
    const words = await rollout(['--get-yargs-completions', 'rollout', 'sta'], { env: { SHELL: '/bin/zsh' } });
    expect(words.stdout).toMatch(/^status:pool state of the fleet/m);
  });

  it('refuses another shell with exit 2', async () => {
    const r = await rollout(['completion', 'fish']);
    expectExit(r, 2);
    expect(r.stderr).toMatch(/Invalid values:[\s\S]*fish/);
  });
});
