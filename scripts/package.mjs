// `npm run package [-- --out DIR]`: builds rollout_<version>_all.deb with Debian's dpkg-deb from this
// checkout. Architecture all: the production dependencies are installed with --omit=optional and
// --ignore-scripts, so ssh2 runs without its optional native addons (cpu-features, sshcrypto) and the
// package holds no compiled code (docs/production.md, "Install"). Prints the .deb's path.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { copyrightFile } from './lib/package/copyright.mjs';
import { CONFFILES, ENV_FILE, POSTINST, POSTRM, PRERM, SYSUSERS, changelog, control } from './lib/package/debian.mjs';
import { buildManPage } from './lib/package/manpage.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { out: { type: 'string' }, keep: { type: 'boolean' } } });
const OUT = path.resolve(opts.out ?? path.join(REPO, 'build'));
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-deb-'));
const root = path.join(tmp, 'root');
const app = path.join(root, 'usr/lib/rollout');
const doc = path.join(root, 'usr/share/doc/rollout');
const say = (text) => process.stderr.write(`package: ${text}\n`);
// Why: the CLI run at build time (help, completions) must not read the builder's inventory or state.
const cliEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, XDG_STATE_HOME: tmp, LANG: 'C.UTF-8' };
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
const write = (file, text, mode = 0o644) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
};
const copy = (from, to) => {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
};

try {
  say(`compiling into ${app}`);
  // Why: a fresh dist/ of its own (no stale files, no source maps pointing at src/), leaving the checkout's dist/ alone.
  run(process.execPath, [
    path.join(REPO, 'node_modules/typescript/bin/tsc'),
    '-p',
    path.join(REPO, 'tsconfig.build.json'),
    '--outDir',
    path.join(app, 'dist'),
    '--sourceMap',
    'false',
  ]);
  run(process.execPath, [path.join(REPO, 'scripts/build-info.mjs'), path.join(app, 'dist')]);
  const info = JSON.parse(fs.readFileSync(path.join(app, 'dist/build-info.json'), 'utf8'));
  copy(path.join(REPO, 'bin/rollout.js'), path.join(app, 'bin/rollout.js'));
  fs.chmodSync(path.join(app, 'bin/rollout.js'), 0o755);
  copy(path.join(REPO, 'package.json'), path.join(app, 'package.json'));
  copy(path.join(REPO, 'package-lock.json'), path.join(app, 'package-lock.json'));

  say('installing the production dependencies (npm ci --omit=dev --omit=optional --ignore-scripts)');
  run(
    'npm',
    ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
    {
      cwd: app,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  // Why: the dependencies' own command-line tools are not rollout's; npm's install record is not needed at run time.
  fs.rmSync(path.join(app, 'node_modules/.bin'), { recursive: true, force: true });
  fs.rmSync(path.join(app, 'node_modules/.package-lock.json'), { force: true });
  // Why: the dependencies' development files are noise in /usr (and lintian errors); no module executes itself.
  run('find', [
    path.join(app, 'node_modules'),
    '-mindepth',
    '2',
    '(',
    '-name',
    '.*',
    '-o',
    '-name',
    '*.html',
    ')',
    '-prune',
    '-exec',
    'rm',
    '-rf',
    '{}',
    '+',
  ]);
  run('chmod', ['-R', 'a-x+X', path.join(app, 'node_modules')]);
  write(path.join(doc, 'copyright'), copyrightFile(app, { license: pkg.license }));
  fs.rmSync(path.join(app, 'package-lock.json'));
  const natives = run('find', [app, '-name', '*.node'], { encoding: 'utf8' }).trim();
  if (natives !== '') throw new Error(`native addons in an Architecture: all package:\n${natives}`);

  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.symlinkSync('../lib/rollout/bin/rollout.js', path.join(root, 'usr/bin/rollout'));
  copy(
    path.join(REPO, 'contrib/systemd/rollout-lb-agent@.service'),
    path.join(root, 'lib/systemd/system/rollout-lb-agent@.service'),
  );
  write(path.join(root, 'etc/default/rollout-lb-agent'), ENV_FILE, 0o600);
  write(path.join(root, 'usr/lib/sysusers.d/rollout.conf'), SYSUSERS);

  say('completions and the man page, from the staged CLI');
  const cli = path.join(app, 'bin/rollout.js');
  const complete = (shell) => run(process.execPath, [cli, 'completion', shell], { encoding: 'utf8', env: cliEnv });
  write(path.join(root, 'usr/share/bash-completion/completions/rollout'), complete('bash'));
  write(path.join(root, 'usr/share/zsh/vendor-completions/_rollout'), complete('zsh'));
  buildManPage({ cli, out: path.join(root, 'usr/share/man/man1'), tmp, env: cliEnv, version: info.version });

  copy(path.join(REPO, 'README.md'), path.join(doc, 'README.md'));
  for (const page of fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')))
    copy(path.join(REPO, 'docs', page), path.join(doc, page));
  copy(path.join(REPO, 'inventory/example.yaml'), path.join(doc, 'examples/inventory.yaml'));
  write(path.join(doc, 'changelog.gz'), gzip(changelog({ ...info, date: debianDate(info.builtAt) })));

  // Why: dpkg-deb takes modes as they are; npm's extraction and umasks vary, the package must not.
  run('chmod', ['-R', 'u+rwX,go+rX,go-w', path.join(root, 'usr'), path.join(root, 'lib')]);
  const debian = path.join(root, 'DEBIAN');
  const installedKb = Number(run('du', ['-sk', '--apparent-size', root], { encoding: 'utf8' }).split('\t')[0]);
  write(path.join(debian, 'control'), control({ version: info.version, installedKb }));
  write(path.join(debian, 'conffiles'), `${CONFFILES.join('\n')}\n`);
  write(path.join(debian, 'postinst'), POSTINST, 0o755);
  write(path.join(debian, 'prerm'), PRERM, 0o755);
  write(path.join(debian, 'postrm'), POSTRM, 0o755);
  write(path.join(debian, 'md5sums'), md5sums(root));

  fs.mkdirSync(OUT, { recursive: true });
  const deb = path.join(OUT, `rollout_${info.version}_all.deb`);
  say(`dpkg-deb --build ${deb}`);
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '-z6', '--build', root, deb], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.stdout.write(`${deb}\n`);
} finally {
  if (opts.keep) say(`kept the staging folder ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}

function gzip(text) {
  return execFileSync('gzip', ['-9n'], { input: text });
}

/** RFC 5322 with a numeric zone, as debian/changelog wants it. */
function debianDate(iso) {
  const d = new Date(iso);
  const day = d.toUTCString().slice(0, 3);
  const month = d.toUTCString().slice(8, 11);
  const pad = (n) => String(n).padStart(2, '0');
  return `${day}, ${pad(d.getUTCDate())} ${month} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** DEBIAN/md5sums: every regular file outside DEBIAN/ and the conffiles (dpkg tracks those itself). */
function md5sums(dir) {
  const lines = [];
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (child === 'DEBIAN' || CONFFILES.includes(`/${child}`)) continue;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile())
        lines.push(
          `${crypto
            .createHash('md5')
            .update(fs.readFileSync(path.join(dir, child)))
            .digest('hex')}  ${child}`,
        );
    }
  };
  walk('');
  return `${lines.sort().join('\n')}\n`;
}
