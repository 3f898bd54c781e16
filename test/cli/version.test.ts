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
    const built = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist', 'build-info.json'), 'utf8')) as {
      commit: string;
      version: string;
    };
    expect(built.commit).toBe(commit); // dist/ is stale otherwise: run `npm run build`
    const count = execFileSync('git', ['-C', ROOT, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }).trim();
    expect(built.version).toMatch(
      new RegExp(`^${pkg.version.replace(/\./g, '\\.')}\\+git\\d{8}\\.${count}\\.${commit}$`),
    );
    const r = await rollout(['--version']);
    expectExit(r, 0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^rollout ${built.version.replace(/[.+]/g, '\\$&')} \\(commit ${commit}(, with uncommitted changes)?\\)\\n$`,
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
      version: 'unknown', // no package.json next to this copy; a tarball has one, and its version is used as is
      commit: null,
      dirty: false,
    });
  });

  it("writes the package.json version as is where git is missing (a tarball's build)", () => {
    const tree = path.join(dir, 'tarball');
    fs.mkdirSync(path.join(tree, 'scripts'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'scripts', 'build-info.mjs'), path.join(tree, 'scripts', 'build-info.mjs'));
    fs.writeFileSync(path.join(tree, 'package.json'), JSON.stringify({ version: '9.8.7' }));
    fs.mkdirSync(path.join(dir, 'nodebin'), { recursive: true });
    if (!fs.existsSync(path.join(dir, 'nodebin', 'node')))
      fs.symlinkSync(process.execPath, path.join(dir, 'nodebin', 'node'));
    execFileSync(process.execPath, [path.join(tree, 'scripts', 'build-info.mjs')], {
      env: { PATH: path.join(dir, 'nodebin') },
    });
    expect(JSON.parse(fs.readFileSync(path.join(tree, 'dist', 'build-info.json'), 'utf8'))).toMatchObject({
      version: '9.8.7',
      commit: null,
    });
  });
});
