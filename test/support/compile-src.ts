import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Transpiles src/ (types stripped, no type check) into a throwaway dir under node_modules/.cache,
 * so a plain `node` child process can import it and still resolve npm packages like etcd3.
 * Returns the dir; the caller removes it.
 */
export function compileSrc(): string {
  // Why: a fresh clone has no node_modules/.cache yet.
  fs.mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
  const out = fs.mkdtempSync(path.join(root, 'node_modules', '.cache', 'rollout-src-'));
  fs.writeFileSync(path.join(out, 'package.json'), '{"type": "module"}\n');
  const files = fs
    .readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    const source = fs.readFileSync(path.join(root, 'src', file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: file,
    });
    const target = path.join(out, 'src', file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
  return out;
}
