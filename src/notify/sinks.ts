import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { NotifySink } from '../inventory/types.js';
import { describeHttpError, httpRequest } from '../net/request.js';
import type { HookDocument } from './document.js';

/** Delivers one document once; rejects with what went wrong. */
export type Deliver = (doc: HookDocument) => Promise<void>;

export interface SinkEnv {
  /** The environment header values are read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A command sink's environment: rollout's own secrets already removed (src/child-env.ts). */
  readonly childEnv: Record<string, string>;
}

/** A webhook: POST the document as JSON, with `text` for Slack/Mattermost when asked; any 2xx is delivered. */
export function webhook(sink: Extract<NotifySink, { kind: 'webhook' }>, env: SinkEnv): Deliver {
  const ca = sink.ca === undefined ? undefined : readFileSync(sink.ca, 'utf8');
  return async (doc) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'rollout' };
    for (const [name, variable] of Object.entries(sink.headersEnv)) {
      const value = env.env[variable];
      if (value === undefined) throw new Error(`header ${name}: environment variable ${variable} is not set`);
      headers[name] = value;
    }
    const body = JSON.stringify(sink.text ? { text: `rollout: ${doc.summary}`, ...doc } : doc);
    const answer = await httpRequest({
      method: 'POST',
      url: sink.url,
      headers,
      body,
      timeoutMs: sink.timeoutSeconds * 1000,
      ...(ca === undefined ? {} : { ca }),
    });
    if (answer.status < 200 || answer.status > 299)
      throw new Error(`HTTP ${answer.status} ${answer.text.trim().slice(0, 200)}`);
  };
}

/** A local program (`sh -c`): the document as JSON on stdin; exit 0 is delivered. Killed at the timeout. */
export function command(sink: Extract<NotifySink, { kind: 'command' }>, env: SinkEnv): Deliver {
  return (doc) =>
    new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', sink.command], { env: env.childEnv, stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
      const timer = setTimeout(() => child.kill('SIGKILL'), sink.timeoutSeconds * 1000);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve();
        const how =
          signal === 'SIGKILL'
            ? `killed after ${sink.timeoutSeconds}s`
            : signal
              ? `killed by ${signal}`
              : `exit ${code}`;
        reject(new Error(`${how}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`));
      });
      // Why: a program that does not read its stdin closes the pipe; that is its business, not a failure.
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${JSON.stringify(doc)}\n`);
    });
}

export function describeDeliveryError(error: unknown): string {
  return describeHttpError(error);
}
