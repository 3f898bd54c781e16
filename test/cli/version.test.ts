import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExit } from '../support/explain.js';
import { ROOT, rollout, scratch } from './cli.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
let dir: string;
let remove: () => void;
beforeAll(() => ({ dir, remove } = scratch()));
afterAll(() => remove());

describe('rollout --version', { timeout: 60_000 }, () => {
  it('prints the version and the commit dist/ was built from', async () => {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    const built = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist', 'build-info.json'), 'utf8')) as { commit: string };
    expect(built.commit).toBe(commit); // dist/ is stale otherwise: run `npm run build`
    const r = await rollout(['--version']);
    expectExit(r, 0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^rollout ${pkg.version.replace(/\./g, '\\.')} \\(commit ${commit}(, with uncommitted changes)?\\)\\n$`,
      ),
    );
    expect((await rollout(['-V'])).stdout).toBe(r.stdout);
  });

  it('is refused after a command, like any unknown option', async () => {
    const r = await rollout(['status', '--version']);
    expectExit(r, 2);
  });

  it('records "no commit" at build time where git is missing', () => {
    // A copy of the build script in a tree without .git, run with a PATH that has node and no git.
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.copyFileSync(path.join(ROOT, 'scripts', 'build-info.mjs'), path.join(dir, 'scripts', 'build-info.mjs'));
    fs.mkdirSync(path.join(dir, 'nodebin'));
    fs.symlinkSync(process.execPath, path.join(dir, 'nodebin', 'node'));
    execFileSync(process.execPath, [path.join(dir, 'scripts', 'build-info.mjs')], {
      env: { PATH: path.join(dir, 'nodebin') },
    });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'dist', 'build-info.json'), 'utf8'))).toMatchObject({
      commit: null,
      dirty: false,
    });
  });
});
