import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What `rollout --version` says: the package version and the commit it was built from. */
export interface VersionInfo {
  readonly version: string;
  /** Short commit hash, or null when neither dist/build-info.json nor git knows it. */
  readonly commit: string | null;
  /** The work tree had uncommitted changes to tracked files when it was built. */
  readonly dirty: boolean;
}

export interface VersionSources {
  /** The repository root (package.json; dist/build-info.json under it). */
  readonly root: string;
  /** Runs git in the root; null when git is missing or the root is not a clone. */
  readonly git: (args: readonly string[]) => string | null;
}

// dist/cli/version.js and src/cli/version.ts are both two levels below the root.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function gitIn(root: string): VersionSources['git'] {
  return (args) => {
    try {
      return execFileSync('git', ['-C', root, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return null;
    }
  };
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The build's own record first (written by scripts/build-info.mjs); git only when dist/ has none (running from src/). */
export function readVersionInfo(sources: VersionSources = { root: ROOT, git: gitIn(ROOT) }): VersionInfo {
  const pkg = readJson(path.join(sources.root, 'package.json'));
  const version = typeof pkg?.['version'] === 'string' ? pkg['version'] : 'unknown';
  const built = readJson(path.join(sources.root, 'dist', 'build-info.json'));
  if (built && (typeof built['commit'] === 'string' || built['commit'] === null)) {
    // Why: the build's version carries the commit (0.1.0+git20261203.208.0d26fd9a1b2c), as the Debian package's does.
    const builtVersion = typeof built['version'] === 'string' ? built['version'] : version;
    return { version: builtVersion, commit: built['commit'], dirty: built['dirty'] === true };
  }
  const commit = sources.git(['rev-parse', '--short=12', 'HEAD']);
  const dirty = commit !== null && (sources.git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  return { version, commit, dirty };
}

/** `rollout 0.1.0+git20261203.208.d8fe035a1b2c (commit d8fe035a1b2c)`; `(commit unknown)` for a build from a tarball without git. */
export function versionText(info: VersionInfo): string {
  const commit = info.commit === null ? 'unknown' : `${info.commit}${info.dirty ? ', with uncommitted changes' : ''}`;
  return `rollout ${info.version} (commit ${commit})\n`;
}
