import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertmanagerClient } from '../../../src/alerts/client.js';
import { expireRunSilences } from '../../../src/alerts/expire-runs.js';
import { parseMatcher, type MatcherTemplate } from '../../../src/alerts/matchers.js';
import { createHostSilences } from '../../../src/alerts/silences.js';
import { NETS } from '../../support/nets.js';
import { startAlertmanager, type TestDaemon } from '../../support/prometheus.js';

let am: TestDaemon;
beforeAll(async () => {
  am = await startAlertmanager(`${NETS.alerts}.7`, 9093);
}, 60_000);
afterAll(async () => {
  await am?.stop();
});

const matchers = [parseMatcher('instance=~"{host}(:[0-9]+)?"') as MatcherTemplate];

function silencesFor(runId: string, now: () => number) {
  return createHostSilences({
    api: createAlertmanagerClient({ urls: [am.url], timeoutSeconds: 5, env: {} }),
    matchers,
    comment: 'rollout {runId}: {host}',
    ttlSeconds: 60,
    required: true,
    run: { runId, user: 'alice', machine: 'deploy1', command: 'rollout sync', reason: 'test' },
    clock: { now },
    // Why: the test drives the keeper itself through extendDue().
    sleep: (_ms, signal) =>
      new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(new Error('stop')))),
    onWarning: () => undefined,
  });
}

describe('the Alertmanager API v2 client and the silence keeper, against a real Alertmanager', () => {
  it('extends a held silence in place (same id, later end) and expires it when released', async () => {
    let now = Date.now();
    const api = createAlertmanagerClient({ urls: [am.url], timeoutSeconds: 5, env: {} });
    const silences = silencesFor('run-extend', () => now);
    await silences.hold({ host: 'mw1.eqiad', vars: { host: 'mw1.eqiad' } });
    const [created] = (await api.list()).filter((s) => s.createdBy.endsWith('(rollout run run-extend)'));
    expect(created).toMatchObject({
      state: 'active',
      matchers: [{ name: 'instance', value: 'mw1\\.eqiad(:[0-9]+)?', isRegex: true, isEqual: true }],
      comment: 'rollout run-extend: mw1.eqiad',
    });
    now += 40_000;
    await silences.extendDue();
    const [extended] = (await api.list()).filter((s) => s.createdBy.endsWith('(rollout run run-extend)'));
    expect(extended?.id).toBe(created?.id);
    expect(Date.parse(extended?.endsAt ?? '')).toBe(now + 60_000);
    expect(await silences.release('mw1.eqiad')).toBeUndefined();
    expect((await api.list()).find((s) => s.id === created?.id)?.state).toBe('expired');
    await silences.close();
  });

  it("extends in place even when the deploy host's clock is behind Alertmanager's (it keeps its own start)", async () => {
    // Why: Alertmanager stores a past start as its own now, and updates in place only if the start is unchanged (to the second).
    let now = Date.now() - 1_500;
    const api = createAlertmanagerClient({ urls: [am.url], timeoutSeconds: 5, env: {} });
    const silences = silencesFor('run-skew', () => now);
    await silences.hold({ host: 'mw4.eqiad', vars: { host: 'mw4.eqiad' } });
    const [created] = (await api.list()).filter((s) => s.createdBy.endsWith('(rollout run run-skew)'));
    now += 40_000;
    await silences.extendDue();
    const mine = (await api.list()).filter((s) => s.createdBy.endsWith('(rollout run run-skew)'));
    expect(mine.map((s) => s.id)).toEqual([created?.id]);
    expect(Date.parse(mine[0]?.endsAt ?? '')).toBe(now + 60_000);
    expect(await api.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    await silences.close();
  });

  it("finds and expires a dead run's silences by their createdBy tag, and no other run's", async () => {
    const api = createAlertmanagerClient({ urls: [am.url], timeoutSeconds: 5, env: {} });
    const dead = silencesFor('run-dead', Date.now);
    const alive = silencesFor('run-alive', Date.now);
    await dead.hold({ host: 'mw2', vars: { host: 'mw2' } });
    await alive.hold({ host: 'mw3', vars: { host: 'mw3' } });
    const result = await expireRunSilences(api, ['run-dead']);
    expect(result.expired).toHaveLength(1);
    const list = await api.list();
    const state = (tag: string): string[] => list.filter((s) => s.createdBy.endsWith(tag)).map((s) => s.state);
    expect(state('(rollout run run-dead)')).toEqual(['expired']);
    expect(state('(rollout run run-alive)')).toEqual(['active']);
    await alive.close();
  });

  it('says which URL failed and how when no Alertmanager answers, as E_ALERTS', async () => {
    const api = createAlertmanagerClient({ urls: [`http://${NETS.alerts}.8:9093`], timeoutSeconds: 2, env: {} });
    await expect(api.list()).rejects.toMatchObject({
      code: 'E_ALERTS',
      message: expect.stringMatching(/127\.0\.78\.8:9093.*ECONNREFUSED/),
    });
  });
});
