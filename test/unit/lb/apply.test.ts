import { describe, expect, it } from 'vitest';
import {
  afterActions,
  planServer,
  readPoolValue,
  serverTarget,
  shouldEnterMaint,
  validateBackendTemplate,
} from '../../../src/lb/apply.js';
import type { HaproxyServerState } from '../../../src/lb/haproxy.js';
import { poolKeyFromPath } from '../../../src/lb/pool-path.js';

const server = (admin: HaproxyServerState['admin'], weight = 10): HaproxyServerState => ({
  backend: 'eqiad_appserver',
  server: 'mw1.eqiad',
  address: '127.0.0.1',
  admin,
  adminFlags: 0,
  opState: 2,
  weight,
});
const key = { dc: 'eqiad', cluster: 'appserver', service: 'php-fpm', host: 'mw1.eqiad' };

describe('readPoolValue', () => {
  it('reads pooled and weight and ignores extra fields', () => {
    expect(readPoolValue('{"pooled":"no","weight":7,"reason":"x"}')).toEqual({
      readable: true,
      pooled: 'no',
      weight: 7,
    });
  });

  it.each([
    ['not json', '{pooled'],
    ['an array', '[]'],
    ['an unknown pooled value', '{"pooled":"maybe","weight":1}'],
    ['a missing weight', '{"pooled":"yes"}'],
    ['a fractional weight', '{"pooled":"yes","weight":1.5}'],
    ['a negative weight', '{"pooled":"yes","weight":-1}'],
  ])('refuses %s', (_name, raw) => {
    expect(readPoolValue(raw).readable).toBe(false);
  });
});

describe('planServer', () => {
  it('pools a drained server with its weight set before it is made ready', () => {
    expect(planServer({ readable: true, pooled: 'yes', weight: 20 }, server('drain', 10))).toEqual({
      actions: [
        { type: 'weight', weight: 20 },
        { type: 'state', state: 'ready' },
      ],
      confirm: true,
      drainToMaint: false,
    });
  });

  it('changes only the weight of a ready server', () => {
    expect(planServer({ readable: true, pooled: 'yes', weight: 5 }, server('ready', 10)).actions).toEqual([
      { type: 'weight', weight: 5 },
    ]);
  });

  it('drains a depooled ready server and confirms without waiting for maint', () => {
    expect(planServer({ readable: true, pooled: 'no', weight: 10 }, server('ready'))).toEqual({
      actions: [{ type: 'state', state: 'drain' }],
      confirm: true,
      drainToMaint: true,
    });
  });

  it('leaves a depooled server in maint where it is', () => {
    expect(planServer({ readable: true, pooled: 'no', weight: 10 }, server('maint'))).toEqual({
      actions: [],
      confirm: true,
      drainToMaint: false,
    });
  });

  it('puts an inactive server in maint', () => {
    expect(planServer({ readable: true, pooled: 'inactive', weight: 10 }, server('ready')).actions).toEqual([
      { type: 'state', state: 'maint' },
    ]);
  });

  it('never touches or confirms a server whose value it cannot read', () => {
    for (const admin of ['ready', 'drain', 'maint'] as const) {
      const plan = planServer({ readable: false, reason: 'not JSON' }, server(admin));
      expect(plan.actions).toEqual([]);
      expect(plan.confirm).toBe(false);
    }
  });

  it('predicts the state after its actions', () => {
    expect(
      afterActions(server('drain', 10), [
        { type: 'weight', weight: 3 },
        { type: 'state', state: 'ready' },
      ]),
    ).toMatchObject({ admin: 'ready', weight: 3 });
  });
});

describe('mapping and drain bound', () => {
  it('maps a pool key to backend <dc>_<cluster> and server <host> by default', () => {
    expect(serverTarget(key)).toEqual({ backend: 'eqiad_appserver', server: 'mw1.eqiad' });
  });

  it('accepts a custom backend template', () => {
    expect(serverTarget(key, '{cluster}-{service}-{dc}').backend).toBe('appserver-php-fpm-eqiad');
  });

  it('rejects a template with an unknown placeholder', () => {
    expect(() => validateBackendTemplate('{datacenter}_{cluster}')).toThrow(/unknown: datacenter/);
  });

  it('parses pool key paths of exactly four parts under the prefix', () => {
    expect(poolKeyFromPath('/conftool/v1/pools/', '/conftool/v1/pools/eqiad/appserver/php-fpm/mw1.eqiad')).toEqual(key);
    expect(poolKeyFromPath('/conftool/v1/pools', '/conftool/v1/pools/eqiad/appserver/php-fpm')).toBeUndefined();
    expect(poolKeyFromPath('/conftool/v1/pools', '/other/eqiad/appserver/php-fpm/mw1')).toBeUndefined();
  });

  it('moves to maint when idle or once the bound has passed', () => {
    expect(shouldEnterMaint({ sessions: 0, drainingSinceMs: 0, nowMs: 1, maintAfterMs: 1000 })).toBe(true);
    expect(shouldEnterMaint({ sessions: 3, drainingSinceMs: 0, nowMs: 999, maintAfterMs: 1000 })).toBe(false);
    expect(shouldEnterMaint({ sessions: 3, drainingSinceMs: 0, nowMs: 1000, maintAfterMs: 1000 })).toBe(true);
  });
});
