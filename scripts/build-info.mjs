// Written by `npm run build` after tsc: dist/build-info.json says which version and commit dist/ was
// built from, so `rollout --version` can say it without git at run time. No git (a tarball) → the
// package.json version and a null commit. `node scripts/build-info.mjs OUT_DIR` writes OUT_DIR/build-info.json
// (the Debian package's staged dist/).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const git = (...args) => {
  try {
    return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null; // git missing, or not a clone
  }
};

/**
 * package.json's version plus where in git it was built: `0.1.0+git20261203.208.0d26fd9a1b2c`
 * (commit date, commits since the root, hash). Valid as a Debian version, and it grows along a branch,
 * so an upgrade between two builds of one branch is an upgrade for dpkg too.
 */
function buildVersion(pkgVersion, commit, commitDate, commitCount) {
  if (commit === null || commitDate === null || commitCount === null) return pkgVersion;
  return `${pkgVersion}+git${commitDate}.${commitCount}.${commit}`;
}

function readPackageVersion() {
  try {
    const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

const commit = git('rev-parse', '--short=12', 'HEAD');
const dirty = commit !== null && (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '';
const commitDate = commit === null ? null : git('show', '-s', '--format=%cd', '--date=format:%Y%m%d', 'HEAD');
const commitCount = commit === null ? null : git('rev-list', '--count', 'HEAD');
const info = {
  version: buildVersion(readPackageVersion(), commit, commitDate, commitCount),
  commit,
  dirty,
  builtAt: new Date().toISOString(),
};
const out = process.argv[2] ? path.resolve(process.argv[2]) : path.join(root, 'dist');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'build-info.json'), `${JSON.stringify(info)}\n`);
