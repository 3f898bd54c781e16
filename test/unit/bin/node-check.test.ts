import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/rollout.js');

/** Runs bin/rollout.js in this Node with process.versions.node and process.version faked to `version`. */
function runAs(version: string): { code: number | null; stdout: string; stderr: string } {
  const fake = `Object.defineProperty(process.versions,'node',{value:'${version}'});Object.defineProperty(process,'version',{value:'v${version}'});`;
  const r = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(fake)}`, BIN, '--version'],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/rollout.js on an older Node', () => {
  it.each(['18.19.0', '16.20.2', '19.9.0'])('refuses Node %s with a clear message and exit 2', (version) => {
    const r = runAs(version);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^rollout: needs Node.js 20 or newer; .* is v${version.replace(/\./g, '\\.')}\\.\\n`),
    );
    expect(r.stderr).toContain('production.md');
  });

  it('lets Node 20 through to the program', () => {
    const r = runAs('20.0.0');
    expect(r.stderr).not.toContain('needs Node.js 20');
  });
});
