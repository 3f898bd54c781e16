/**
 * A throwaway root for dpkg that the test owns: its own admin dir (status, info, updates), a nodejs
 * entry of the version the test chooses, and maintainer scripts run without chroot (DPKG_ROOT set),
 * so nothing is ever installed into the machine's own /usr, /etc or dpkg database.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const nodejsStanza = (version: string): string =>
  [
    'Package: nodejs',
    'Status: install ok installed',
    'Priority: optional',
    'Section: web',
    'Maintainer: test <test@example.org>',
    'Architecture: amd64',
    `Version: ${version}`,
    'Description: stands in for the machine nodejs in this root',
    '',
  ].join('\n');

export class DpkgRoot {
  readonly admin: string;
  constructor(readonly dir: string) {
    this.admin = path.join(dir, 'var/lib/dpkg');
    for (const sub of ['info', 'updates', 'triggers']) fs.mkdirSync(path.join(this.admin, sub), { recursive: true });
    fs.mkdirSync(path.join(dir, 'var/log'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(this.admin, 'status'), `${nodejsStanza('18.19.0+dfsg-6~deb12u2')}\n`);
  }

  /** Replaces the stand-in nodejs entry's version, leaving every other package's entry as it is. */
  setNodejs(version: string): void {
    const status = fs.readFileSync(path.join(this.admin, 'status'), 'utf8');
    const stanzas = status.split(/\n\n+/).filter((s) => s.trim() !== '' && !s.startsWith('Package: nodejs\n'));
    fs.writeFileSync(
      path.join(this.admin, 'status'),
      `${[nodejsStanza(version).trimEnd(), ...stanzas].join('\n\n')}\n\n`,
    );
  }

  dpkg(...args: string[]): Ran {
    return run('dpkg', [`--root=${this.dir}`, '--force-script-chrootless', ...args]);
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }
}
