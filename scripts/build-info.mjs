// Written by `npm run build` after tsc: dist/build-info.json says which commit dist/ was built
// from, so `rollout --version` can say it without git at run time. No git (a tarball) → null.
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
const commit = git('rev-parse', '--short=12', 'HEAD');
const dirty = commit !== null && (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '';
const info = { commit, dirty, builtAt: new Date().toISOString() };
fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
fs.writeFileSync(path.join(root, 'dist', 'build-info.json'), `${JSON.stringify(info)}\n`);
