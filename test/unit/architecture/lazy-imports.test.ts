import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../../src', import.meta.url));

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

describe('what a run loads from disk', () => {
  // Why: a package upgrade under a running run must find nothing left to load (docs/production.md,
  // "Upgrading under a running rollout"); the one lazy import per command happens before any change.
  it('has no dynamic import() but the one per command in src/cli/index.ts', () => {
    const lazy = sources(src).flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          /(^|[^.\w])import\(\s*['"`]/.test(line) ? [`${path.relative(src, file)}:${i + 1}`] : [],
        ),
    );
    expect(lazy.filter((where) => !where.startsWith(`cli${path.sep}index.ts:`))).toEqual([]);
    expect(lazy.length).toBeGreaterThan(0); // the pattern does find the command imports
  });

  it('imports each command module first thing in its action, before the command runs', () => {
    const cli = fs.readFileSync(path.join(src, 'cli', 'index.ts'), 'utf8');
    const actions = cli.match(/action = async \(\) =>\s*\(await import\('\.\.\/commands\/[a-z-]+\.js'\)\)/g) ?? [];
    const imports = cli.match(/import\('/g) ?? [];
    expect(actions.length).toBe(imports.length);
  });
});
