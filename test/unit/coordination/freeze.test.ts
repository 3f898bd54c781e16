import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import {
  describeFreeze,
  freezeKey,
  freezesCovering,
  listFreezes,
  liftFreeze,
  setFreeze,
} from '../../../src/coordination/freeze.js';
import { checkFreeze, parseUntil } from '../../../src/commands/freeze.js';
import { createMemoryKv } from '../../../src/kv/memory-kv.js';

const by = { user: 'alice', machine: 'deploy1', reason: 'db failover', at: '2026-12-04T02:00:00.000Z' };
const app = { dc: 'eqiad', cluster: 'appserver' };
const api = { dc: 'codfw', cluster: 'api' };

describe('deploy freezes', () => {
  it('covers what its scope says: fleet, datacenter, cluster in every dc, one cluster', () => {
    const fleet = { ...by, dc: null, cluster: null };
    const eqiad = { ...by, dc: 'eqiad', cluster: null };
    const apiAll = { ...by, dc: null, cluster: 'api' };
    const one = { ...by, dc: 'eqiad', cluster: 'appserver' };
    expect(freezesCovering([fleet], [api])).toHaveLength(1);
    expect(freezesCovering([eqiad], [api])).toHaveLength(0);
    expect(freezesCovering([eqiad], [app])).toHaveLength(1);
    expect(freezesCovering([apiAll], [app, api])).toHaveLength(1);
    expect(freezesCovering([one], [api])).toHaveLength(0);
    expect(describeFreeze(eqiad)).toBe('eqiad frozen by alice@deploy1 at 2026-12-04T02:00:00.000Z: db failover');
  });

  it('refuses a run in scope with E_FROZEN (exit 3) naming who and why; --ignore-freeze returns what it overrides', async () => {
    const kv = createMemoryKv();
    await setFreeze(kv, { ...by, dc: 'eqiad', cluster: null });
    const error = await checkFreeze(kv, [app], { ignore: false, emergency: false }).catch((e: unknown) => e);
    expect(isRolloutError(error, 'E_FROZEN')).toBe(true);
    expect((error as Error).message).toMatch(/eqiad frozen by alice@deploy1 .*db failover.*--ignore-freeze/);
    expect(isRolloutError(error) && error.exitCode).toBe(3);
    const emergency = await checkFreeze(kv, [app], { ignore: false, emergency: true }).catch((e: unknown) => e);
    expect((emergency as Error).message).toMatch(/emergency run needs --ignore-freeze too/);
    expect(await checkFreeze(kv, [app], { ignore: true, emergency: true })).toEqual([
      'eqiad frozen by alice@deploy1 at 2026-12-04T02:00:00.000Z: db failover',
    ]);
    expect(await checkFreeze(kv, [api], { ignore: false, emergency: false })).toEqual([]);
    expect(await liftFreeze(kv, 'eqiad', null)).toBe(true);
    expect(await checkFreeze(kv, [app], { ignore: false, emergency: false })).toEqual([]);
  });

  it('lets a freeze lapse at --until, and reads a damaged freeze key as a freeze by nobody', async () => {
    const kv = createMemoryKv();
    const now = Date.parse('2026-12-04T03:00:00.000Z');
    await setFreeze(kv, { ...by, dc: null, cluster: null, until: '2026-12-04T02:30:00.000Z' });
    expect(await listFreezes(kv, now)).toEqual([]);
    await kv.put(freezeKey('eqiad', 'appserver'), 'garbage');
    const [damaged] = await listFreezes(kv, now);
    expect(damaged).toMatchObject({ dc: 'eqiad', cluster: 'appserver', user: 'unknown' });
  });

  it('reads --until as a time to come or a duration from now, and refuses anything else naming the flag', () => {
    const now = Date.parse('2026-12-04T02:00:00.000Z');
    expect(parseUntil('2h', now)).toBe('2026-12-04T04:00:00.000Z');
    expect(parseUntil('2026-12-05T18:00:00Z', now)).toBe('2026-12-05T18:00:00.000Z');
    for (const bad of ['tomorrow', '2020-01-01T00:00:00Z', '-5m'])
      expect(() => parseUntil(bad, now)).toThrow(/--until: expected/);
  });
});
