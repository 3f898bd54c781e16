import { describe, expect, it } from 'vitest';
import { acquireLocks, type LockHolder } from '../../../src/coordination/lock.js';
import {
  clearControl,
  controlKey,
  listLiveRuns,
  sendControl,
  watchControl,
  type ControlCommand,
} from '../../../src/coordination/control.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';

const holder = (runId: string): LockHolder => ({
  user: 'alice',
  machine: 'deploy1',
  pid: 1,
  command: 'rollout sync',
  runId,
  startedAt: '2026-12-04T02:00:00.000Z',
  reason: '',
});
const command = (action: ControlCommand['action']): ControlCommand => ({
  action,
  user: 'bob',
  machine: 'laptop',
  reason: action === 'resume' ? '' : 'an alert',
  at: '2026-12-04T02:01:00.000Z',
});
const time = { now: () => 0, sleep: async () => undefined };
const turns = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe('control keys', () => {
  it('delivers each command written after the watch starts, in order, and none after it stops', async () => {
    const kv = createMemoryKv();
    const seen: string[] = [];
    const stop = await watchControl(kv, 'r-1', (c) => seen.push(`${c.action} ${c.user}@${c.machine}`));
    await sendControl(kv, 'r-1', command('pause'));
    await sendControl(kv, 'r-2', command('abort'));
    await sendControl(kv, 'r-1', command('resume'));
    await turns();
    expect(seen).toEqual(['pause bob@laptop', 'resume bob@laptop']);
    await stop();
    await sendControl(kv, 'r-1', command('abort'));
    await turns();
    expect(seen).toHaveLength(2);
  });

  it('reads a command already there when it starts, and watches again after a compaction cut the watch', async () => {
    const kv = createMemoryKv();
    await sendControl(kv, 'r-1', command('pause'));
    const seen: string[] = [];
    const warnings: string[] = [];
    const stop = await watchControl(
      kv,
      'r-1',
      (c) => seen.push(c.action),
      (w) => warnings.push(w),
    );
    expect(seen).toEqual(['pause']);
    kv.compact(await kv.revision());
    await sendControl(kv, 'r-1', command('abort'));
    for (let i = 0; i < 40 && !seen.includes('abort'); i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual(['pause', 'abort']);
    expect(warnings.join('\n')).toMatch(/watching again/);
    await stop();
  });

  it('ignores a value that is not a command, with a warning', async () => {
    const kv = createMemoryKv();
    const seen: string[] = [];
    const warnings: string[] = [];
    const stop = await watchControl(
      kv,
      'r-1',
      (c) => seen.push(c.action),
      (w) => warnings.push(w),
    );
    await kv.put(controlKey('r-1'), '{"action":"explode"}');
    await turns();
    expect(seen).toEqual([]);
    expect(warnings[0]).toMatch(/not a steering command/);
    await stop();
    await clearControl(kv, 'r-1');
    expect(await kv.get(controlKey('r-1'))).toBeNull();
  });

  it('lists live runs from their locks, one entry per run with its clusters, recover left out', async () => {
    const kv = createMemoryKv();
    await acquireLocks(
      kv,
      [
        { dc: 'eqiad', cluster: 'appserver' },
        { dc: 'eqiad', cluster: 'api' },
      ],
      holder('r-1'),
      time,
    );
    await acquireLocks(kv, [{ dc: 'codfw', cluster: 'appserver' }], holder('recover-1'), time);
    const live = await listLiveRuns(kv);
    expect(live.map((r) => [r.runId, r.clusters.map((c) => `${c.cluster}@${c.dc}`)])).toEqual([
      ['r-1', ['api@eqiad', 'appserver@eqiad']],
    ]);
  });
});
