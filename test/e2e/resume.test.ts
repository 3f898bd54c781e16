import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, exitOf, pids, REPO, rollout, until } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

const BIN = path.join(REPO, 'bin', 'rollout.js');

// A run stopped by its failure budget, then `--resume`: only what it left is restarted (real sshd, PHP-FPM, etcd, HAProxy).
const fx = useSandbox(
  'resume',
  { dcs: ['eqiad'], clusters: ['appserver'], hostsPerCluster: 4, net: NETS.steeringResume, sshBasePort: 2960 },
  (doc) => {
    // Why: a host's restart fails while a marker file names it, so the test decides which host fails, and when.
    const marker = path.join(path.dirname(fx.inventory ?? '/tmp'), 'fail-{host}');
    doc.setIn(
      ['defaults', 'restart', 'command'],
      `test ! -e ${marker} && ${String(doc.getIn(['defaults', 'restart', 'command']))}`,
    );
    doc.setIn(['defaults', 'failureBudget'], 0);
  },
);

const pooledOf = async (host: string): Promise<string> => {
  const [entry] = (await fx.kv.list('/conftool/v1/pools/eqiad/appserver/')).filter((e) => e.key.endsWith(`/${host}`));
  return String((JSON.parse(entry?.value ?? '{}') as { pooled?: string }).pooled);
};

describe('sync --resume', { timeout: 240_000 }, () => {
  it('restarts only the hosts the stopped run left (master pids), takes over the failed one, and leaves no journal', async () => {
    const [first, second, third, fourth] = fx.sandbox.hosts.map((h) => h.name);
    if (!first || !second || !third || !fourth) throw new Error('the sandbox has 4 hosts');
    const marker = path.join(path.dirname(fx.inventory), `fail-${second}`);
    fs.writeFileSync(marker, '');
    const before = await pids(fx.sandbox);
    const stopped = await rollout(['sync', '--json', '--batch-size', '1'], fx.inventory);
    expectExit(stopped, 1);
    const runId = String(events(stopped.stdout).find((e) => e['event'] === 'run.started')?.['runId']);
    expect(await pooledOf(second)).toBe('no');
    const middle = await pids(fx.sandbox);
    expect(middle.get(first)).not.toBe(before.get(first));
    expect(middle.get(third)).toBe(before.get(third));

    fs.rmSync(marker);
    const resumed = await rollout(['sync', '--json', '--resume', runId], fx.inventory);
    expectExit(resumed, 0);
    expect(resumed.stderr).toContain(`resuming run ${runId}`);
    const after = await pids(fx.sandbox);
    expect(after.get(first), 'the host the stopped run finished').toBe(middle.get(first));
    for (const host of [second, third, fourth]) expect(after.get(host), host).not.toBe(middle.get(host));
    for (const host of [first, second, third, fourth]) expect(await pooledOf(host), host).toBe('yes');
    const restarted = events(resumed.stdout)
      .filter((e) => e['event'] === 'host.restarted')
      .map((e) => e['host']);
    expect([...restarted].sort()).toEqual([second, third, fourth].sort());
    expect(await fx.kv.list(`/rollout/v1/runs/${runId}/`)).toEqual([]);
    expect(await fx.kv.list(`/rollout/v1/resume/${runId}`)).toEqual([]);
    const again = await rollout(['sync', '--resume', runId], fx.inventory);
    expectExit(again, 2);
    expect(again.stderr).toContain('nothing to resume');
  });
});

describe('the question on failure, in a real pseudo-terminal', { timeout: 240_000 }, () => {
  it('asks retry/skip/abort on the terminal, holds the run paused, and a retry finishes the host', async () => {
    const host = fx.sandbox.hosts[2]?.name ?? '';
    const marker = path.join(path.dirname(fx.inventory), `fail-${host}`);
    fs.writeFileSync(marker, '');
    // Why: `script` gives the CLI a pseudo-terminal for stdin and stderr, as an operator's SSH session would.
    const command = `${process.execPath} ${BIN} sync --batch-size 1`;
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      env: {
        ...process.env,
        ROLLOUT_INVENTORY: fx.inventory,
        XDG_STATE_HOME: path.dirname(fx.inventory),
        NO_COLOR: '1',
        TMUX: '',
        STY: '',
        INVOCATION_ID: '',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await until('the question', async () => out.includes('[r]etry / [s]kip / [a]bort?'));
    expect(out).toContain(`${host} (appserver@eqiad) FAILED at restart`);
    // A terminal outside tmux, screen or a systemd unit: the run says at its start what a hangup would do.
    expect(out).toContain('hint: not inside tmux, screen or a systemd unit');
    const status = JSON.parse((await rollout(['status', '--runs', '--json'], fx.inventory)).stdout) as {
      runs: { state: string }[];
    };
    expect(status.runs[0]?.state).toBe('asking');
    fs.rmSync(marker);
    child.stdin.write('r\r');
    const code = await exitOf(child);
    expect(code, out).toBe(0);
    expect(out).toContain('retrying from its restart step');
    expect(await pooledOf(host)).toBe('yes');
  });
});
