import { describe, expect, it } from 'vitest';
import { createV2Client } from '../../../src/kv/etcd-v2-client.js';
import { plainTextPasswordWarning } from '../../../src/kv/plain-auth.js';
import { DEFAULT_ETCD } from '../../../src/inventory/defaults.js';
import { isRolloutError } from '../../../src/errors.js';
import type { EtcdSettings } from '../../../src/inventory/types.js';

const settings = (over: Partial<EtcdSettings>): EtcdSettings => ({ ...DEFAULT_ETCD, ...over });
const withPassword = { username: 'rollout', passwordEnv: 'ETCD_PW' };
const env = { ETCD_PW: 'secret' };

describe('an etcd password and plain http://', () => {
  it('is warned about when a username is set and an endpoint is http://', () => {
    expect(plainTextPasswordWarning(settings(withPassword), ['http://etcd1:2379', 'https://etcd2:2379'])).toContain(
      'http://etcd1:2379 is plain http://',
    );
    expect(plainTextPasswordWarning(settings(withPassword), ['https://etcd1:2379'])).toBeUndefined();
    expect(plainTextPasswordWarning(settings({}), ['http://etcd1:2379'])).toBeUndefined();
  });

  it('the v2 client warns too', () => {
    const warnings: string[] = [];
    const client = createV2Client(settings({ ...withPassword, endpoints: ['http://127.0.0.1:1'] }), {
      env,
      onWarning: (m) => warnings.push(m),
    });
    client.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('unencrypted');
  });

  it('the v2 client refuses an http:// endpoint beside a CA, so basic auth never goes out in clear', () => {
    let caught: unknown;
    try {
      createV2Client(settings({ ...withPassword, ca: '/nonexistent/ca.pem', endpoints: ['http://127.0.0.1:1'] }), {
        env,
      });
    } catch (error) {
      caught = error;
    }
    expect(isRolloutError(caught, 'E_INVENTORY')).toBe(true);
    expect(String((caught as Error).message)).toContain('etcd.ca is set but the endpoint http://127.0.0.1:1');
  });
});
