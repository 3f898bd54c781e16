/**
 * The npm path, for those who prefer it: `npm pack` gives a tarball (package.json `files`) that
 * `npm install -g` installs and runs. It packs the checkout's dist/ as built (`npm test` builds it first).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { run, type Ran } from './dpkg-root.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const explain = (r: Ran): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
afterAll(() => removeTempDirs());

describe('npm pack', { timeout: 600_000 }, () => {
  it('gives a tarball that npm install -g installs and that runs', () => {
    const out = tempDir('rollout-npm-pack-');
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], {
      ...process.env,
      npm_config_loglevel: 'error',
    });
    expect(packed.code, explain(packed)).toBe(0);
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['bin/rollout.js', 'dist/main.js', 'dist/build-info.json']));
    expect(paths).toContain('inventory/example.yaml');
    expect(paths.filter((p) => /^(src|test|scripts|bench)\//.test(p) || p.endsWith('.map'))).toEqual([]);

    const prefix = path.join(out, 'prefix');
    const installed = run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(out, filename)],
      { ...process.env, npm_config_loglevel: 'error' },
    );
    expect(installed.code, explain(installed)).toBe(0);
    const built = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/build-info.json'), 'utf8')) as { version: string };
    const version = run(path.join(prefix, 'bin/rollout'), ['--version']);
    expect(version.code, explain(version)).toBe(0);
    expect(version.stdout).toMatch(new RegExp(`^rollout ${built.version.replace(/[.+]/g, '\\$&')} \\(commit `));
    const example = path.join(prefix, 'lib/node_modules/rollout/inventory/example.yaml');
    const plan = run(path.join(prefix, 'bin/rollout'), ['plan', '--offline', '-i', example], {
      ...process.env,
      HOME: out,
    });
    expect(plan.code, explain(plan)).toBe(0);
    expect(plan.stdout).toMatch(/appserver/);
  });
});
