// debian/copyright (machine-readable format 1.0) for the package: rollout itself, then every npm
// package bundled under /usr/lib/rollout/node_modules, as package-lock.json names it, with the
// licence its package.json declares and the licence text it ships.
import fs from 'node:fs';
import path from 'node:path';

// Why: Debian policy points at these instead of copying them; every other licence's text is the package's own.
const COMMON = { 'Apache-2.0': '/usr/share/common-licenses/Apache-2.0' };

/** One line of a DEP-5 field's continuation: blank lines become " .". */
const indent = (text) =>
  text
    .replace(/\r/g, '')
    .trim()
    .split('\n')
    .map((line) => (line.trim() === '' ? ' .' : ` ${line.trimEnd()}`))
    .join('\n');

function licenseOf(pkg) {
  if (typeof pkg.license === 'string') return pkg.license;
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map((l) => l.type ?? l).join(' or ');
  return 'unknown';
}

function licenseFile(dir) {
  const name = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt|markdown))?$/i.test(f));
  return name === undefined ? null : fs.readFileSync(path.join(dir, name), 'utf8');
}

function holders(text, pkg, name) {
  const lines = (text ?? '').split('\n').filter((l) => /^\s*copyright\s+(\(c\)|©|\d)/i.test(l));
  if (lines.length > 0) return lines.map((l) => l.trim().replace(/^copyright\s*/i, ''));
  const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
  return [author ?? `the ${name} authors`];
}

/** The bundled packages: the lock file's entries that `npm ci --omit=dev --omit=optional` installed. */
export function bundledPackages(appDir) {
  const lock = JSON.parse(fs.readFileSync(path.join(appDir, 'package-lock.json'), 'utf8'));
  return Object.keys(lock.packages)
    .filter((key) => key !== '' && fs.existsSync(path.join(appDir, key, 'package.json')))
    .sort();
}

/** The copyright file's text. appDir is the staged /usr/lib/rollout (its package-lock.json, its node_modules). */
export function copyrightFile(appDir, { license }) {
  const out = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: rollout',
    'Comment: The npm packages under /usr/lib/rollout/node_modules are bundled as package-lock.json',
    ' pins them; this file is generated from it by `npm run package`.',
    '',
    'Files: *',
    'Copyright: the rollout authors',
    `License: ${license}`,
    '',
  ];
  const standalone = new Set([license]);
  for (const key of bundledPackages(appDir)) {
    const dir = path.join(appDir, key);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const id = licenseOf(pkg);
    const text = licenseFile(dir);
    out.push(`Files: usr/lib/rollout/${key}/*`, `Copyright: ${holders(text, pkg, pkg.name ?? key).join('\n ')}`);
    if (COMMON[id] !== undefined || text === null) {
      out.push(`License: ${id}`, `Comment: ${pkg.name}@${pkg.version}`, '');
      standalone.add(id);
    } else {
      out.push(`License: ${id}`, indent(text), `Comment: ${pkg.name}@${pkg.version}`, '');
    }
  }
  for (const id of [...standalone].sort()) {
    out.push(`License: ${id}`);
    out.push(
      COMMON[id] !== undefined
        ? ` On Debian systems, the full text of this licence is in ${COMMON[id]}.`
        : ` The package declares ${id} in its package.json and ships no licence text.`,
    );
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
