import { describe, expect, it } from 'vitest';
import { fleet } from '../../support/fleet.js';
import { harness } from './harness.js';

describe('capacity is what the load balancers serve', () => {
  it('waits for every LB agent to apply a repool before the next batch starts', async () => {
    const h = await harness(fleet().cluster('appserver', 2, { batch: 1, minPooled: 1 }).build());
    h.agent('eqiad', 'lb1', true);
    const result = await h.run({ batchMode: 'barrier' });
    expect(result.exitCode).toBe(0);
    const seen = h.events.map((e) => `${e.event}${'host' in e ? ` ${e.host}` : ''}`);
    const confirmed = seen.indexOf('lb.repool-confirmed mw1001');
    expect(confirmed).toBeGreaterThan(seen.indexOf('host.repooled mw1001'));
    expect(confirmed).toBeLessThan(seen.lastIndexOf('batch.started'));
    expect(h.names('lb.repool-confirmed')).toEqual(['mw1001', 'mw1002']);
  });

  it('counts a repool no agent confirmed as not pooled, so the next batch waits and gives up (exit 4)', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 1, minPooled: 3 }).build());
    // An agent that applies depools but never repools (it serves the host no more).
    h.agent('eqiad', 'lb1', (value) => value.pooled === 'no');
    const result = await h.run({ capacityWaitSeconds: 6 });
    expect(h.names('host.repooled')).toEqual(['mw1001']);
    expect(h.names('host.depooled')).toEqual(['mw1001']);
    expect(result.exitCode).toBe(4);
    expect(result.capacityRefused.join(' ')).toMatch(/capacity guard: appserver@eqiad: .*wanted 1/);
    expect(
      h.events.some(
        (e) => e.event === 'run.warning' && /mw1001: LB agent\(s\) lb1 did not confirm the repool/.test(e.message),
      ),
    ).toBe(true);
  });

  it('with lb.requireAgents, fails a batch closed when no agent is registered: not depooled, not restarted', async () => {
    const h = await harness(
      fleet()
        .cluster('appserver', 2, { batch: 2, minPooled: 0, settings: { lb: { requireAgents: true } } })
        .build(),
    );
    const result = await h.run();
    expect(result.exitCode).toBe(1);
    expect(result.hosts.map((x) => [x.host, x.outcome, x.step, x.code])).toEqual([
      ['mw1001', 'failed', 'depool', 'E_LB_CONFIRM'],
      ['mw1002', 'failed', 'depool', 'E_LB_CONFIRM'],
    ]);
    expect(h.execs).toEqual([]);
    expect(h.names('host.depooled')).toEqual([]);
    expect((await h.value('mw1001'))?.['pooled']).toBe('yes');
  });
});

describe('the emergency brake', () => {
  it('stops an emergency run once a whole batch fails its health check', async () => {
    const h = await harness(fleet().cluster('appserver', 4, { batch: 2, minPooled: 0 }).build());
    h.health = (host) => (['mw1001', 'mw1002'].includes(host.name) ? { ok: false, detail: 'HTTP 500' } : undefined);
    const result = await h.run({ emergency: true, batchMode: 'barrier' });
    expect(result.exitCode).toBe(1);
    expect(result.budgetExceeded).toBe(true);
    expect(h.execs.map((e) => e.host)).toEqual(['mw1001', 'mw1002']);
    expect(
      h.events.some(
        (e) =>
          e.event === 'run.warning' &&
          /emergency brake: every host of batch 1 of appserver@eqiad failed its health check/.test(e.message),
      ),
    ).toBe(true);
  });

  it('goes on when one host of the batch is healthy, and with --failure-budget whatever fails', async () => {
    const partial = await harness(fleet().cluster('appserver', 4, { batch: 2, minPooled: 0 }).build());
    partial.health = (host) => (host.name === 'mw1001' ? { ok: false, detail: 'HTTP 500' } : undefined);
    await partial.run({ emergency: true });
    expect(partial.execs).toHaveLength(4);
    const budgeted = await harness(fleet().cluster('appserver', 4, { batch: 2, minPooled: 0 }).build());
    budgeted.health = () => ({ ok: false, detail: 'HTTP 500' });
    await budgeted.run({ emergency: true, failureBudget: { kind: 'percent', value: 100 } });
    expect(budgeted.execs).toHaveLength(4);
  });
});
