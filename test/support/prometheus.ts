import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ALERTMANAGER, alertmanagerArgs, PUSHGATEWAY, pushgatewayArgs } from '../../scripts/lib/sandbox/prometheus.mjs';

/** A throwaway Alertmanager or Pushgateway owned by the test, on a loopback address of its net. */
export interface TestDaemon {
  readonly url: string;
  readonly pid: number;
  /** SIGKILL to exactly this process (it keeps nothing worth a clean stop); removes its dir. Safe twice. */
  stop(): Promise<void>;
}

async function start(what: string, binary: string, args: (dir: string) => string[], url: string): Promise<TestDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rollout-${what}-`));
  const logFile = path.join(dir, `${what}.log`);
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(binary, args(dir), { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.pid === undefined) {
      const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      await stop();
      throw new Error(`${what} exited (${String(child.exitCode)}): ${text.slice(-2000)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${what} at ${url} not ready after 20s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid, stop };
}

export function startAlertmanager(address: string, port: number): Promise<TestDaemon> {
  return start(
    'alertmanager',
    ALERTMANAGER,
    (dir) => alertmanagerArgs(dir, address, port),
    `http://${address}:${port}`,
  );
}

export function startPushgateway(address: string, port: number): Promise<TestDaemon> {
  return start('pushgateway', PUSHGATEWAY, (dir) => pushgatewayArgs(dir, address, port), `http://${address}:${port}`);
}
