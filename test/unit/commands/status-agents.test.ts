import { describe, expect, it } from 'vitest';
import { agentRows, renderAgents } from '../../../src/commands/status-agents.js';
import { agentKey, appliedKey } from '../../../src/lb/keys.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';

const PREFIX = '/conftool/v1/pools';
const key = (host: string) => ({ dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host });

describe('rollout status: LB agents', () => {
  it('lists each registered agent with the revision it applied and how many pool keys it has not', async () => {
    const kv = createMemoryKv();
    const r1 = await kv.put(`${PREFIX}/eqiad/appserver/php-fpm/mw1`, '{"pooled":"yes","weight":10}');
    await kv.put(`${PREFIX}/eqiad/appserver/php-fpm/mw2`, '{"pooled":"no","weight":10}');
    await kv.put(
      agentKey('eqiad', 'lb1'),
      JSON.stringify({
        agentId: 'lb1',
        machine: 'lvs1001',
        pid: 1,
        startedAt: '2026-12-02T01:00:00Z',
        haproxySocket: '/s',
      }),
    );
    await kv.put(
      appliedKey('lb1', key('mw1')),
      JSON.stringify({ revision: r1, pooled: 'yes', weight: 10, appliedAt: '' }),
    );
    const rows = await agentRows(kv, PREFIX, 'eqiad');
    expect(rows).toEqual([
      {
        dc: 'eqiad',
        agentId: 'lb1',
        machine: 'lvs1001',
        since: '2026-12-02T01:00:00Z',
        appliedRevision: r1,
        pending: 1,
      },
    ]);
    const text = renderAgents(['eqiad', 'codfw'], rows, false);
    expect(text).toContain('eqiad: lb1 on lvs1001, since 2026-12-02T01:00:00Z, applied up to revision');
    expect(text).toContain('1 pool key(s) not applied yet');
    expect(text).toContain('codfw: no LB agent registered');
  });

  it('shows a datacenter with no agent in red on a terminal only', () => {
    expect(renderAgents(['codfw'], [], true)).toContain('\x1b[31m  codfw: no LB agent registered');
    expect(renderAgents(['codfw'], [], false)).not.toContain('\x1b[');
  });
});

describe('renderAgents for datacenters that confirm through PyBal', () => {
  it('says what confirms there instead of warning that no agent is registered', () => {
    const text = renderAgents(
      ['eqiad'],
      [],
      false,
      new Map([['eqiad', 'confirmed through PyBal (lb.confirm: pybal): http://lvs1013:9090']]),
    );
    expect(text).toBe(
      'LB agents:\n  eqiad: no LB agent; confirmed through PyBal (lb.confirm: pybal): http://lvs1013:9090\n',
    );
  });
});
