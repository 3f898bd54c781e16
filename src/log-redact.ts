/** Keys whose values never reach a log line (STYLE.md): a private key, a passphrase, an etcd password. */
export const SECRET_KEYS: readonly string[] = ['passphrase', 'password', 'privateKey', 'private_key', 'etcdPassword'];

export const CENSOR = '[redacted]';

const SECRETS = new Set(SECRET_KEYS);

/** Levels below the line's top one that are searched: `key`, `*.key` and `*.*.key`. */
const DEPTH = 2;

/**
 * The log line's fields with every secret key at any of 3 depths censored. Why not pino's own
 * `redact`: it costs 8× the line itself on every event (a fleet's thousands of them), while a
 * line without a secret needs no copy at all: the same object comes back, and only what holds a
 * secret is copied.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    if (depth >= DEPTH) return value;
    let copy: unknown[] | undefined;
    value.forEach((item: unknown, i) => {
      const next = redactSecrets(item, depth + 1);
      if (next === item) return;
      copy ??= [...value];
      copy[i] = next;
    });
    return (copy ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const item = fields[key];
    const next = SECRETS.has(key) ? CENSOR : depth < DEPTH ? redactSecrets(item, depth + 1) : item;
    if (next === item) continue;
    copy ??= { ...fields };
    copy[key] = next;
  }
  return (copy ?? value) as T;
}
