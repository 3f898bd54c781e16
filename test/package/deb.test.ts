/**
 * `npm run package` builds the .deb once for this file; the tests read it, lint it, install it into a
 * throwaway dpkg root (never the machine's /usr), run the installed CLI, its man page and its unit,
 * and remove it again. They run in order: install → use → remove.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { DpkgRoot, run, type Ran } from './dpkg-root.js';
import { runUnderRemoval } from './under-removal.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const UNIT = 'lib/systemd/system/rollout-lb-agent@.service';
const REQUIRED = [
  'usr/bin/rollout',
  'usr/lib/rollout/bin/rollout.js',
  'usr/lib/rollout/dist/main.js',
  'usr/lib/rollout/dist/build-info.json',
  'usr/lib/rollout/package.json',
  'usr/lib/rollout/node_modules/yargs/package.json',
  'usr/lib/rollout/node_modules/ssh2/package.json',
  'usr/lib/rollout/node_modules/etcd3/package.json',
  UNIT,
  'etc/default/rollout-lb-agent',
  'usr/lib/sysusers.d/rollout.conf',
  'usr/share/bash-completion/completions/rollout',
  'usr/share/zsh/vendor-completions/_rollout',
  'usr/share/man/man1/rollout.1.gz',
  'usr/share/doc/rollout/README.md',
  'usr/share/doc/rollout/production.md',
  'usr/share/doc/rollout/lb-agent.md',
  'usr/share/doc/rollout/examples/inventory.yaml',
  'usr/share/doc/rollout/copyright',
  'usr/share/doc/rollout/changelog.gz',
];

const explain = (r: Ran): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
function ok(r: Ran): Ran {
  expect(r.code, explain(r)).toBe(0);
  return r;
}

let deb: string;
let files: string[];
let root: DpkgRoot;
let version: string;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; optional?: boolean }>;
};

beforeAll(() => {
  const out = tempDir('rollout-deb-out-');
  const built = ok(run(process.execPath, [path.join(ROOT, 'scripts/package.mjs'), '--out', out]));
  deb = built.stdout.trim();
  files = ok(run('dpkg-deb', ['--contents', deb]))
    .stdout.split('\n')
    .filter(Boolean)
    .map((line) => (line.split(/\s+/)[5] ?? '').replace(/^\.\//, ''));
  version = ok(run('dpkg-deb', ['--field', deb, 'Version'])).stdout.trim();
  root = new DpkgRoot(tempDir('rollout-dpkg-root-'));
}, 900_000);
afterAll(() => removeTempDirs());

describe('the Debian package', { timeout: 300_000 }, () => {
  it("is named rollout_<version>_all.deb, its version package.json's plus the commit", () => {
    const commit = run('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD']).stdout.trim();
    expect(version).toMatch(new RegExp(`^${pkg.version.replace(/\./g, '\\.')}\\+git\\d{8}\\.\\d+\\.${commit}$`));
    expect(path.basename(deb)).toBe(`rollout_${version}_all.deb`);
  });

  it('holds the program, the unit, the completions, the man page and the docs', () => {
    for (const file of REQUIRED) expect(files, file).toContain(file);
  });

  it('holds no sources, no tests, no dev tools and no compiled addon', () => {
    const devDeps = Object.entries(lock.packages)
      .filter(([key, meta]) => key.startsWith('node_modules/') && meta.dev === true)
      .map(([key]) => `usr/lib/rollout/${key}/`);
    expect(devDeps.length).toBeGreaterThan(10); // the lock file does list the dev tools this checks for
    const wrong = files.filter(
      (file) =>
        /^usr\/lib\/rollout\/(src|test|bench|scripts)\//.test(file) ||
        file.includes('node_modules/.bin/') ||
        /^usr\/lib\/rollout\/dist\/.*\.(ts|map)$/.test(file) ||
        file.endsWith('.node') ||
        devDeps.some((dir) => file.startsWith(dir)),
    );
    expect(wrong).toEqual([]);
  });

  it('depends on nodejs (>= 20) and declares its conffile', () => {
    const info = ok(run('dpkg-deb', ['--info', deb])).stdout;
    expect(info).toMatch(/^ Depends: nodejs \(>= 20\)$/m);
    expect(info).toMatch(/^ Architecture: all$/m);
    expect(ok(run('dpkg-deb', ['--ctrl-tarfile', deb])).code).toBe(0);
    const conffiles = ok(run('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xOf - ./conffiles`])).stdout;
    expect(conffiles.trim()).toBe('/etc/default/rollout-lb-agent');
  });

  it('has no lintian error', () => {
    const r = run('lintian', ['--tag-display-limit', '0', deb]);
    const errors = r.stdout.split('\n').filter((line) => line.startsWith('E: '));
    expect(errors, explain(r)).toEqual([]);
  });

  it('will not configure next to nodejs 18, and configures next to nodejs 20', () => {
    const refused = root.dpkg('--install', deb);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/rollout depends on nodejs \(>= 20\)/);
    root.setNodejs('20.19.2+dfsg-1');
    ok(root.dpkg('--configure', 'rollout'));
    expect(ok(root.dpkg('--status', 'rollout')).stdout).toMatch(/^Status: install ok installed$/m);
    // The unit's User= exists, created by the postinst through systemd-sysusers --root.
    expect(fs.readFileSync(root.path('etc/passwd'), 'utf8')).toMatch(/^rollout-lb:x:\d+:\d+:[^:]*:\/nonexistent:/m);
  });

  it('runs from the install: --version says the package version and the commit', () => {
    const r = ok(run(root.path('usr/bin/rollout'), ['--version']));
    const commit = run('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD']).stdout.trim();
    expect(r.stdout).toMatch(new RegExp(`^rollout ${version.replace(/[.+]/g, '\\$&')} \\(commit ${commit}[,)]`));
  });

  it('plans the example inventory offline from the install', () => {
    const example = root.path('usr/share/doc/rollout/examples/inventory.yaml');
    const r = ok(
      run(root.path('usr/bin/rollout'), ['plan', '--offline', '-i', example], { ...process.env, HOME: root.dir }),
    );
    expect(r.stdout).toMatch(/batch/i);
    expect(r.stdout).toMatch(/appserver/);
  });

  it('lets a running sync finish when the package is removed under it (everything it runs is loaded at start)', async () => {
    const r = await runUnderRemoval(root, deb);
    expect(r.before, 'the run had depooled the host when the package went').toEqual({ pooled: 'no', weight: 10 });
    expect(r.removedWhileRunning).toBe(true);
    expect(r.run.code, explain(r.run)).toBe(0);
    expect(r.run.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find module|ENOENT/);
    expect(r.after).toEqual({ pooled: 'yes', weight: 10 });
  });

  it('ships the completion scripts `rollout completion` prints', () => {
    for (const [shell, file] of [
      ['bash', 'usr/share/bash-completion/completions/rollout'],
      ['zsh', 'usr/share/zsh/vendor-completions/_rollout'],
    ] as const) {
      const printed = ok(run(root.path('usr/bin/rollout'), ['completion', shell])).stdout;
      expect(fs.readFileSync(root.path(file), 'utf8')).toBe(printed);
    }
  });

  it('has a man page that man renders, with every subcommand and its options', () => {
    const help = ok(run(root.path('usr/bin/rollout'), ['--help'])).stdout;
    const commands = [...help.matchAll(/^ {2}rollout ([a-z][a-z-]*)/gm)].map((m) => m[1] ?? '');
    expect(commands).toEqual(expect.arrayContaining(['sync', 'restart', 'plan', 'lb-agent', 'report', 'completion']));
    const r = ok(
      run('man', ['--warnings', '-l', root.path('usr/share/man/man1/rollout.1.gz')], {
        ...process.env,
        MANPAGER: 'cat',
        MANWIDTH: '120',
        LANG: 'C.UTF-8',
      }),
    );
    expect(r.stderr, 'groff warnings').toBe('');
    const page = r.stdout; // man strips bold and underline when its output is not a terminal
    expect(page).toMatch(/^NAME\n\s+rollout - rolling restarts/m);
    const section = page.slice(page.search(/^COMMANDS$/m));
    expect(section.length).toBeLessThan(page.length);
    for (const command of commands) {
      // Its own subsection, holding every option its own --help names.
      const start = section.search(new RegExp(`^ {3}rollout ${command}$`, 'm'));
      expect(start, command).toBeGreaterThan(0);
      const next = section.slice(start + 1).search(/^ {3}\S/m);
      const sub = section.slice(start, next < 0 ? undefined : start + 1 + next);
      const own = ok(run(root.path('usr/bin/rollout'), [command, '--help'])).stdout;
      for (const option of own.match(/--[a-z][a-z-]+/g) ?? []) expect(sub, `${command} ${option}`).toContain(option);
    }
    expect(page).toContain(`rollout ${version}`);
  });

  it('has an LB agent unit that systemd-analyze verify accepts as installed', () => {
    // Why: verify resolves the unit's targets and ExecStart= inside the root; give it a Debian system's few.
    for (const unit of [
      'sysinit.target',
      'basic.target',
      'shutdown.target',
      'network-online.target',
      'multi-user.target',
    ])
      fs.copyFileSync(path.join('/lib/systemd/system', unit), root.path('lib/systemd/system', unit));
    fs.mkdirSync(root.path('bin'), { recursive: true });
    fs.copyFileSync('/bin/kill', root.path('bin/kill'));
    fs.chmodSync(root.path('bin/kill'), 0o755);
    const r = run('systemd-analyze', [
      `--root=${root.dir}`,
      'verify',
      root.path('lib/systemd/system/rollout-lb-agent@eqiad.service'),
    ]);
    expect(r.code, explain(r)).toBe(0);
    expect(`${r.stdout}${r.stderr}`.trim(), 'warnings count as failures').toBe('');
  });

  it("upgrades to a newer build, keeping the admin's edit of its conffile", () => {
    const conffile = root.path('etc/default/rollout-lb-agent');
    fs.appendFileSync(conffile, 'ROLLOUT_LB_ARGS=--backend-template {dc}-{cluster}\n');
    // The next build: this package with a later version, as the next commit's `npm run package` would make it.
    const next = `${version.replace(/\+git(\d{8})\.(\d+)\./, (_m, date: string, n: string) => `+git${date}.${Number(n) + 1}.`)}`;
    const tree = tempDir('rollout-deb-next-');
    ok(run('dpkg-deb', ['--raw-extract', deb, tree]));
    for (const file of ['DEBIAN/control', 'usr/lib/rollout/dist/build-info.json']) {
      const text = fs.readFileSync(path.join(tree, file), 'utf8');
      fs.writeFileSync(path.join(tree, file), text.split(version).join(next));
    }
    const nextDeb = path.join(tree, '..', `rollout_${next}_all.deb`);
    ok(run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, nextDeb]));
    expect(ok(run('dpkg', ['--compare-versions', next, 'gt', version])).code).toBe(0);
    ok(root.dpkg('--install', nextDeb));
    expect(ok(root.dpkg('--status', 'rollout')).stdout).toContain(`Version: ${next}\n`);
    expect(ok(run(root.path('usr/bin/rollout'), ['--version'])).stdout).toMatch(
      new RegExp(`^rollout ${next.replace(/[.+]/g, '\\$&')} `),
    );
    expect(fs.readFileSync(conffile, 'utf8')).toContain('ROLLOUT_LB_ARGS=--backend-template {dc}-{cluster}');
    fs.rmSync(nextDeb);
  });

  it('leaves only its conffile behind when removed, and nothing when purged', () => {
    ok(root.dpkg('--remove', 'rollout'));
    const left = files.filter((file) => file !== '' && !file.endsWith('/') && fs.existsSync(root.path(file)));
    expect(left).toEqual(['etc/default/rollout-lb-agent']);
    expect(fs.existsSync(root.path('usr/lib/rollout'))).toBe(false);
    ok(root.dpkg('--purge', 'rollout'));
    expect(fs.existsSync(root.path('etc/default/rollout-lb-agent'))).toBe(false);
  });
});
