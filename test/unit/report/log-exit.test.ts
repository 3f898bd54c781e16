import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSrc } from '../../support/compile-src.js';

// A process that logs 5,000 lines without yielding, then exits in each way but SIGKILL: every line is in the file.
let src: string;
let dir: string;
beforeAll(() => {
  src = compileSrc();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-log-exit-'));
});
afterAll(() => {
  fs.rmSync(src, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

const script = (logModule: string): string => `
import { createLogger } from ${JSON.stringify(logModule)};
const [file, how] = process.argv.slice(2);
const exits = new Set();
process.on('exit', () => { for (const listener of exits) listener(); });
process.on('SIGINT', () => process.exit(130));
const log = createLogger({ file, onExit: (listener) => (exits.add(listener), () => exits.delete(listener)) });
for (let i = 0; i < 5000; i += 1) log.info({ i, event: i === 4999 ? 'run.finished' : 'host.done' }, 'line');
if (how === 'exit') process.exit(1);
if (how === 'throw') throw new Error('boom');
if (how === 'reject') await Promise.reject(new Error('boom'));
if (how === 'signal') { process.kill(process.pid, 'SIGINT'); setTimeout(() => undefined, 10_000); }
`;

describe('the run log on exit', { timeout: 60_000 }, () => {
  it.each([
    ['process.exit(1)', 'exit', 1],
    ['an uncaught error', 'throw', 1],
    ['an unhandled rejection', 'reject', 1],
    ['a signal handled by process.exit(130)', 'signal', 130],
    ['the end of the program', 'end', 0],
  ])('holds every line, the last one last, after %s', (_name, how, code) => {
    const child = path.join(dir, `${how}.mjs`);
    fs.writeFileSync(child, script(path.join(src, 'src', 'log.js')));
    const file = path.join(dir, how, 'run.log');
    const r = spawnSync(process.execPath, [child, file, how], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(code);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    expect(JSON.parse(lines.at(-1) ?? '{}')).toMatchObject({ i: 4999, event: 'run.finished' });
  });
});
