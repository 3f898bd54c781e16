import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, defaultLogFile, logEvent, nullLogger } from '../../../src/log.js';
import { stringStream } from '../../../src/report/stream.js';
import { failedRun, started } from './events.js';

function lines(text: string): Record<string, unknown>[] {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('createLogger', () => {
  it('writes each event as a JSON line with its fields, a readable message and a level', () => {
    const stream = stringStream();
    const log = createLogger({ stream });
    for (const e of failedRun) logEvent(log, e);
    const out = lines(stream.text());
    expect(out).toHaveLength(failedRun.length);
    expect(out[0]).toMatchObject({
      level: 30,
      event: 'run.started',
      runId: 'r-1',
      user: 'alice',
      argv: ['sync', '--release', 'r2'],
      msg: expect.stringContaining('alice@deploy1 started rollout sync'),
    });
    const failed = out.find((l) => l.event === 'host.failed');
    expect(failed).toMatchObject({ level: 50, host: 'mw3', code: 'E_HEALTH', depooled: true });
    expect(out.find((l) => l.event === 'lb.propagation-assumed')?.level).toBe(40);
    expect(typeof out[0]?.time).toBe('string');
  });

  it('redacts passphrases, passwords and private keys', () => {
    const stream = stringStream();
    const log = createLogger({ stream });
    log.info(
      { ssh: { passphrase: 'hunter2', privateKey: '-----BEGIN' }, etcd: { password: 's3cret', user: 'root' } },
      'connecting',
    );
    const text = stream.text();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('BEGIN');
    expect(text).not.toContain('s3cret');
    expect(lines(text)[0]).toMatchObject({ etcd: { password: '[redacted]', user: 'root' } });
  });

  it('creates the log file and its directories, and each line is in it when flush calls back (200 times)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-log-test-'));
    try {
      // Why: pino's async destination called back while its write was still queued; one run in several read an empty file.
      for (let i = 0; i < 200; i += 1) {
        const file = path.join(dir, 'state', `${i}`, 'rollout', 'r-1.log');
        const log = createLogger({ file });
        logEvent(log, started);
        await new Promise<void>((resolve, reject) => log.flush((error) => (error ? reject(error) : resolve())));
        expect(lines(fs.readFileSync(file, 'utf8'))[0], `attempt ${i}`).toMatchObject({ event: 'run.started' });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits for the file too when it also writes to a stream', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rollout-log-test-'));
    try {
      const file = path.join(dir, 'r-1.log');
      const stream = stringStream();
      const log = createLogger({ file, stream });
      for (const e of failedRun) logEvent(log, e);
      await new Promise<void>((resolve, reject) => log.flush((error) => (error ? reject(error) : resolve())));
      expect(lines(fs.readFileSync(file, 'utf8'))).toHaveLength(failedRun.length);
      expect(lines(stream.text())).toHaveLength(failedRun.length);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('respects the level', () => {
    const stream = stringStream();
    const log = createLogger({ stream, level: 'warn' });
    for (const e of failedRun) logEvent(log, e);
    expect(lines(stream.text()).every((l) => (l.level as number) >= 40)).toBe(true);
  });

  it('has a null logger that accepts everything and writes nothing', () => {
    expect(() => logEvent(nullLogger(), started)).not.toThrow();
  });
});

describe('defaultLogFile', () => {
  it('uses XDG_STATE_HOME when it is an absolute path', () => {
    expect(defaultLogFile('r-1', { XDG_STATE_HOME: '/var/state', HOME: '/home/a' })).toBe('/var/state/rollout/r-1.log');
  });

  it('falls back to ~/.local/state when XDG_STATE_HOME is unset or relative', () => {
    expect(defaultLogFile('r-1', { HOME: '/home/a' })).toBe('/home/a/.local/state/rollout/r-1.log');
    expect(defaultLogFile('r-1', { HOME: '/home/a', XDG_STATE_HOME: 'state' })).toBe(
      '/home/a/.local/state/rollout/r-1.log',
    );
  });
});
