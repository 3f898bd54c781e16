import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { MemoryAlertmanager } from '../../../src/alerts/memory.js';
import { parseMatcher, type MatcherTemplate } from '../../../src/alerts/matchers.js';
import { createHostSilences } from '../../../src/alerts/silences.js';
import type { RolloutEvent } from '../../../src/report/events.js';
import { harness, type Harness } from './harness.js';

const matchers = ['instance=~"{host}(:[0-9]+)?"', 'cluster="{cluster}"'].map((m) => parseMatcher(m) as MatcherTemplate);

function silenced(h: Harness, required = true): MemoryAlertmanager {
  const am = new MemoryAlertmanager(() => h.now);
  h.extraDeps = {
    silences: createHostSilences({
      api: am,
      matchers,
      comment: 'rollout {runId}: {host}',
      ttlSeconds: 600,
      required,
      run: { runId: 'run-1', user: 'alice', machine: 'deploy1', command: 'rollout sync', reason: 'test' },
      clock: { now: () => h.now },
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('stop')))),
      onWarning: (message) => h.events.push({ event: 'run.warning', message, time: '', runId: 'run-1' }),
    }),
  };
  return am;
}

const warnings = (events: RolloutEvent[]): string[] =>
  events.flatMap((e) => (e.event === 'run.warning' ? [e.message] : []));

describe('alert silences in a run', () => {
  it('silences each host before its depool and expires the silence once it is repooled', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    const am = silenced(h);
    const activeAtDepool: string[][] = [];
    const depooledAtSilence: boolean[] = [];
    const post = am.post.bind(am);
    am.post = (silence, id) => {
      const host = /^(mw\d+)/.exec(silence.matchers[0]?.value ?? '')?.[1] ?? '';
      if (id === undefined) depooledAtSilence.push(h.names('host.depooled').includes(host));
      return post(silence, id);
    };
    h.exec = (host, command) =>
      void (command !== 'true' && activeAtDepool.push([host, ...am.active().map((s) => s.matchers[0]?.value ?? '')]));
    const result = await h.run();
    await h.extraDeps.silences?.close();
    expect(result.exitCode).toBe(0);
    // At mw1001's restart only its own silence is active, the host name escaped for the regex.
    expect(activeAtDepool).toEqual([
      ['mw1001', 'mw1001(:[0-9]+)?'],
      ['mw1002', 'mw1002(:[0-9]+)?'],
    ]);
    // Each silence was created before its host's depool.
    expect(depooledAtSilence).toEqual([false, false]);
    expect(am.silences.size).toBe(2);
    expect(am.active()).toEqual([]);
    const first = [...am.silences.values()][0];
    expect(first?.matchers[1]).toEqual({ name: 'cluster', value: 'appserver', isRegex: false, isEqual: true });
    expect(first?.comment).toBe('rollout run-1: mw1001');
    expect(first?.createdBy).toBe('alice@deploy1 (rollout run run-1)');
    expect(Date.parse(first?.endsAt ?? '') - Date.parse(first?.startsAt ?? '')).toBe(600_000);
  });

  it('leaves a host pooled and untouched, failed with E_ALERTS, when Alertmanager is down', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, failureBudget: 5 }).build());
    const am = silenced(h);
    am.down = true;
    const result = await h.run();
    expect(result.exitCode).toBe(1);
    expect(result.hosts[0]).toMatchObject({ outcome: 'failed', step: 'depool', code: 'E_ALERTS', leftDepooled: false });
    expect(h.names('host.depooled')).toEqual([]);
    expect(h.execs).toEqual([]);
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
  });

  it('goes on with a warning when Alertmanager is down and alerts.required is false', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1 }).build());
    const am = silenced(h, false);
    am.down = true;
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.names('host.repooled')).toEqual(['mw1001', 'mw1002']);
    expect(warnings(h.events).filter((w) => w.includes('going on without it'))).toHaveLength(2);
  });

  it('silences an emergency host before its restart, though it is never depooled', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 2 }).build());
    const am = silenced(h);
    let activeAtRestart = 0;
    h.exec = () => void (activeAtRestart = Math.max(activeAtRestart, am.active().length));
    const result = await h.run({ emergency: true });
    expect(result.exitCode).toBe(0);
    expect(activeAtRestart).toBe(2);
    expect(am.silences.size).toBe(2);
    expect(am.active()).toEqual([]);
  });

  it('keeps a failed host silenced only until its ttl passes, and says so', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, failureBudget: 5 }).build());
    const am = silenced(h);
    h.health = (host) => (host.name === 'mw1001' ? { ok: false, detail: 'HTTP 500' } : undefined);
    await h.run();
    await h.extraDeps.silences?.close();
    const [failed] = am.active();
    expect(am.active()).toHaveLength(1);
    expect(failed?.matchers[0]?.value).toBe('mw1001(:[0-9]+)?');
    expect(
      warnings(h.events).some((w) =>
        w.startsWith(`mw1001: its alert silence is no longer extended and lapses at ${failed?.endsAt}`),
      ),
    ).toBe(true);
    h.now = Date.parse(failed?.endsAt ?? '') + 1;
    expect(am.active()).toEqual([]);
  });
});

describe('the silence keeper', () => {
  it('extends a held silence once half its ttl is gone, and never past now + ttl', async () => {
    let now = 1_700_000_000_000;
    const am = new MemoryAlertmanager(() => now);
    const silences = createHostSilences({
      api: am,
      matchers,
      comment: 'c',
      ttlSeconds: 60,
      required: true,
      run: { runId: 'r', user: 'u', machine: 'm', command: 'c', reason: 'r' },
      clock: { now: () => now },
      sleep: (_ms, signal) =>
        new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(new Error('x')))),
      onWarning: () => undefined,
    });
    await silences.hold({ host: 'mw1', vars: { host: 'mw1', cluster: 'a' } });
    now += 20_000;
    await silences.extendDue();
    expect(am.posts).toBe(1);
    now += 15_000;
    await silences.extendDue();
    expect(am.posts).toBe(2);
    expect(am.active().map((s) => Date.parse(s.endsAt))).toEqual([now + 60_000]);
    await silences.close();
    expect(am.active()).toEqual([]);
  });
});
