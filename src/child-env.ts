/** Variables rollout itself reads secrets from; a child process rollout starts never sees them. */
export const ROLLOUT_SECRET_ENV = ['ROLLOUT_SSH_PASSPHRASE'] as const;

/**
 * The environment for a local child process (a canary gate command, a notify hook): the parent's,
 * minus rollout's own secrets and any variable the inventory names as holding one
 * (`etcd.passwordEnv`, a bearer token's variable).
 */
export function childEnv(
  env: Readonly<Record<string, string | undefined>>,
  secretNames: readonly (string | undefined)[] = [],
): Record<string, string> {
  const drop = new Set<string>([...ROLLOUT_SECRET_ENV, ...secretNames.filter((n): n is string => n !== undefined)]);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && !drop.has(name)) out[name] = value;
  return out;
}
