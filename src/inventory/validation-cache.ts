// A cache of validated inventories, so a run does not parse and validate the same YAML again: at
// 1,000 hosts that is a quarter of a second of a run's start, at 10,000 a second. Best effort: any
// problem with the cache is a miss, and the inventory is validated as if there were none.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { ValidationResult } from './validate.js';

/** Entries kept in the directory, newest first: a daily inventory change does not fill the disk. */
const KEEP = 8;
const SUFFIX = '.v8';

/** What is stored: the key again (a renamed or damaged file is a miss), the inventory and its warnings. */
interface Entry {
  readonly key: string;
  readonly inventory: NonNullable<ValidationResult['inventory']>;
  readonly warnings: string[];
}

/**
 * What a validation depends on besides its input: the code under `root` (every file by path, size
 * and mtime, so a rebuild or an upgrade is a new key), the YAML parser's version and Node's
 * serialization format.
 */
export function codeIdentity(root: string): string {
  const hash = createHash('sha256').update(`${process.version}\0${v8.cachedDataVersionTag()}\0`);
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = fs.statSync(file);
      if (stat.isDirectory()) walk(file);
      else if (!name.endsWith('.map')) hash.update(`${path.relative(root, file)}\0${stat.size}\0${stat.mtimeMs}\0`);
    }
  };
  walk(root);
  hash.update(fs.readFileSync(createRequire(import.meta.url).resolve('yaml/package.json')));
  return hash.digest('hex');
}

let running: string | undefined;
/** The identity of the running build (dist/, or src/ under the test runner), worked out once a process. */
function runningCode(): string {
  running ??= codeIdentity(fileURLToPath(new URL('..', import.meta.url)));
  return running;
}

/** The key of one inventory text at one path, under the running code. */
function cacheKey(text: string, file: string): string {
  return createHash('sha256').update(`${runningCode()}\0${file}\0`).update(text).digest('hex');
}

/**
 * The directory is the user's own and no one else may write to it, and so is each folder made on
 * the way. Why: under sudo with the caller's HOME, root must not make folders in the caller's home.
 */
function ownDir(dir: string): boolean {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    const parent = path.dirname(dir);
    if (parent === dir || !ownDir(parent)) return false;
    fs.mkdirSync(dir, { mode: 0o700 });
    stat = fs.statSync(dir);
  }
  return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
}

function read(dir: string, key: string): ValidationResult | undefined {
  const file = path.join(dir, key + SUFFIX);
  let entry: Entry;
  try {
    entry = v8.deserialize(fs.readFileSync(file)) as Entry;
  } catch {
    return undefined; // missing, or damaged: validated again and written anew
  }
  if (entry?.key !== key || entry.inventory === undefined || !Array.isArray(entry.warnings)) return undefined;
  try {
    // Why: the newest entries are those kept; a hit is as recent as a write.
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    // a read-only cache still answers
  }
  return { inventory: entry.inventory, warnings: entry.warnings, errors: [] };
}

function write(dir: string, key: string, result: ValidationResult): void {
  if (result.inventory === null || result.errors.length > 0) return; // Why: an invalid inventory is fixed and read again; its errors need the YAML's positions.
  const entry: Entry = { key, inventory: result.inventory, warnings: result.warnings };
  // Why: a name of its own, so two runs (or test threads) writing the same entry never share a file.
  const temp = path.join(dir, `.${key}.${randomUUID()}.tmp`);
  try {
    fs.writeFileSync(temp, v8.serialize(entry), { mode: 0o600 });
    // Why: a rename is atomic, so a run reading at the same moment sees the whole entry or none.
    fs.renameSync(temp, path.join(dir, key + SUFFIX));
  } finally {
    fs.rmSync(temp, { force: true });
  }
  prune(dir);
}

/** A file's mtime; undefined when another run removed it meanwhile. */
function mtimeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Keeps the KEEP most recent entries, and removes what a killed run left half written an hour ago or more. */
function prune(dir: string): void {
  const files = fs.readdirSync(dir).map((name) => ({ name, at: mtimeOf(path.join(dir, name)) }));
  const stale = files.filter(
    ({ name, at }) => name.endsWith('.tmp') && at !== undefined && Date.now() - at > 3_600_000,
  );
  const old = files
    .filter(({ name, at }) => name.endsWith(SUFFIX) && at !== undefined)
    .sort((a, b) => (b.at ?? 0) - (a.at ?? 0))
    .slice(KEEP);
  for (const { name } of [...stale, ...old]) fs.rmSync(path.join(dir, name), { force: true });
}

/**
 * `validate(text, file)`, or its result from an earlier run of the same code on the same text and
 * path. Only a valid inventory is stored, with its warnings, which are said again on every hit.
 */
export function cachedValidation(
  text: string,
  file: string,
  dir: string,
  validate: (text: string, file: string) => ValidationResult,
): ValidationResult {
  let key: string;
  try {
    if (!ownDir(dir)) return validate(text, file);
    key = cacheKey(text, file);
    const hit = read(dir, key);
    if (hit !== undefined) return hit;
  } catch {
    return validate(text, file);
  }
  const result = validate(text, file);
  try {
    write(dir, key, result);
  } catch {
    // a full disk or a read-only home: the next run validates again
  }
  return result;
}
