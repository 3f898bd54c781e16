import { describe, expect, it } from 'vitest';
import { createCanaryProbes } from '../../../src/health/canary-probes.js';

describe('the canary gate command', () => {
  const env = {
    PATH: process.env['PATH'],
    KEEP_ME: 'visible',
    ROLLOUT_SSH_PASSPHRASE: 'ssh-secret',
    ETCD_PW: 'etcd-secret',
  };

  it("does not see the SSH passphrase nor the variable named by etcd.passwordEnv, but keeps the rest of rollout's environment", async () => {
    const probes = createCanaryProbes({ env, secretEnv: ['ETCD_PW'] });
    const r = await probes.runLocal('env', 10_000);
    expect(r.exitCode).toBe(0);
    const seen = await probes.runLocal(
      'printf "%s|%s|%s" "${KEEP_ME-unset}" "${ROLLOUT_SSH_PASSPHRASE-unset}" "${ETCD_PW-unset}"',
      10_000,
    );
    expect(seen.output).toBe('visible|unset|unset');
  });
});
