import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readVersionInfo, versionText } from '../../../src/cli/version.js';
import { removeTempDirs, tempDir } from '../../support/tmp.js';

afterAll(() => removeTempDirs());

function tree(buildInfo?: unknown): string {
  const root = tempDir('rollout-version-');
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ version: '1.2.3' }));
  if (buildInfo !== undefined) {
    fs.mkdirSync(path.join(root, 'dist'));
    fs.writeFileSync(path.join(root, 'dist', 'build-info.json'), JSON.stringify(buildInfo));
  }
  return root;
}

describe('the version and commit', () => {
  it('comes from dist/build-info.json without asking git', () => {
    const git = (): string => {
      throw new Error('git must not run');
    };
    expect(versionText(readVersionInfo({ root: tree({ commit: 'abcdef123456', dirty: false }), git }))).toBe(
      'rollout 1.2.3 (commit abcdef123456)\n',
    );
  });

  it("prefers the build's version, which carries the commit", () => {
    const info = readVersionInfo({
      root: tree({ version: '1.2.3+git20261203.208.abcdef123456', commit: 'abcdef123456', dirty: false }),
      git: () => null,
    });
    expect(versionText(info)).toBe('rollout 1.2.3+git20261203.208.abcdef123456 (commit abcdef123456)\n');
  });

  it('asks git when there is no build record (running from src/)', () => {
    const answers: Record<string, string> = { 'rev-parse': '0123456789ab', status: ' M src/x.ts' };
    const info = readVersionInfo({ root: tree(), git: (args) => answers[args[0] ?? ''] ?? null });
    expect(versionText(info)).toBe('rollout 1.2.3 (commit 0123456789ab, with uncommitted changes)\n');
  });

  it('says "unknown" when neither knows the commit', () => {
    expect(versionText(readVersionInfo({ root: tree(), git: () => null }))).toBe('rollout 1.2.3 (commit unknown)\n');
    expect(versionText(readVersionInfo({ root: tree({ commit: null, dirty: false }), git: () => null }))).toBe(
      'rollout 1.2.3 (commit unknown)\n',
    );
  });
});
