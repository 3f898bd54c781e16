import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, logEvent } from '../../../src/log.js';
import { reportCommand } from '../../../src/commands/report.js';
import { stringStream } from '../../../src/report/stream.js';
import { failedRun, started } from './events.js';

const mode = (p: string): string => (fs.statSync(p).mode & 0o777).toString(8);
let dir: string;
let umask: number;

beforeEach(() => {
  // Why: the usual umask, which alone would give 0644 files and 0755 folders.
  umask = process.umask(0o022);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-modes-'));
});
afterEach(() => {
  process.umask(umask);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('files rollout creates, under umask 022', () => {
  it('makes the run log 0600 and the folders it creates 0700', async () => {
    const file = path.join(dir, 'state', 'rollout', 'r-1.log');
    const log = createLogger({ file });
    logEvent(log, started);
    await new Promise<void>((resolve) => log.flush(() => resolve()));
    expect(mode(file)).toBe('600');
    expect(mode(path.join(dir, 'state', 'rollout'))).toBe('700');
    expect(mode(path.join(dir, 'state'))).toBe('700');
  });

  it('makes the HTML report 0600, also when it replaces a 0644 file', async () => {
    const logFile = path.join(dir, 'run.log');
    fs.writeFileSync(logFile, failedRun.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const output = path.join(dir, 'report.html');
    fs.writeFileSync(output, 'old', { mode: 0o644 });
    const io = {
      stdout: stringStream(),
      stderr: stringStream(),
      env: {},
      cwd: dir,
      argv: [],
      stop: new AbortController().signal,
      confirm: null,
    };
    expect(await reportCommand({ run: logFile, output }, io)).toBe(0);
    expect(mode(output)).toBe('600');
    fs.rmSync(output);
    expect(await reportCommand({ run: logFile, output }, io)).toBe(0);
    expect(mode(output)).toBe('600');
  });
});
