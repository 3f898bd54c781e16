import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';

/** One usable line of an OpenSSH known_hosts file. */
export interface KnownHostEntry {
  /** `@revoked` lines refuse their key; `@cert-authority` lines are skipped when parsing. */
  readonly revoked: boolean;
  /** The host field: comma-separated patterns, or one hashed `|1|salt|hash` name. */
  readonly hosts: string;
  readonly keyType: string;
  /** The public key blob (SSH wire format), decoded from base64. */
  readonly key: Buffer;
  /** 1-based line number, for messages. */
  readonly line: number;
}

/** What a host key lookup found; `changed` and `revoked` must never be overridden. */
export type HostKeyVerdict =
  | { readonly status: 'known'; readonly entry: KnownHostEntry }
  | { readonly status: 'unknown' }
  | { readonly status: 'changed'; readonly entries: readonly KnownHostEntry[] }
  | { readonly status: 'revoked'; readonly entry: KnownHostEntry };

/** Parses known_hosts text; comments, blank, malformed and `@cert-authority` lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return;
    let revoked = false;
    if (fields[0].startsWith('@')) {
      // Why: host certificates are not supported, so a CA line can vouch for nothing here.
      if (fields[0] !== '@revoked') return;
      revoked = true;
      fields.shift();
    }
    const [hosts, keyType, base64] = fields;
    if (hosts === undefined || keyType === undefined || base64 === undefined) return;
    const key = Buffer.from(base64, 'base64');
    if (key.length === 0 || keyBlobType(key) !== keyType) return;
    entries.push({ revoked, hosts, keyType, key, line: index + 1 });
  });
  return entries;
}

/** The name OpenSSH looks up: `host`, or `[host]:port` when the port is not 22. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

/** The key type named inside a public key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyBlobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length > blob.length - 4 || length > 64) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Compiled patterns: a fleet's known_hosts is matched against hundreds of names. */
const compiled = new Map<string, RegExp>();

function wildcardMatch(pattern: string, name: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === name;
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')
        .replaceAll('?', '.')}$`,
    );
    compiled.set(pattern, regex);
  }
  return regex.test(name);
}

/** Whether a host field (patterns with `*`, `?`, `!negation`, or a hashed name) names `name`. */
export function hostsFieldMatches(hosts: string, name: string): boolean {
  const lower = name.toLowerCase();
  if (hosts.startsWith('|1|')) {
    const [, , salt, hash] = hosts.split('|');
    if (salt === undefined || hash === undefined) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(lower).digest('base64');
    return digest === hash;
  }
  let matched = false;
  for (const pattern of hosts.toLowerCase().split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), lower)) return false;
    } else if (wildcardMatch(pattern, lower)) {
      matched = true;
    }
  }
  return matched;
}

/** Entries by the names they match: a known_hosts file read once, looked up per connection. */
export interface KnownHostsLookup {
  matching(name: string): readonly KnownHostEntry[];
}

/** Known entries as a list (scanned) or an index (src/transport/known-hosts-index.ts). */
export type KnownHosts = readonly KnownHostEntry[] | KnownHostsLookup;

function matching(known: KnownHosts, name: string): readonly KnownHostEntry[] {
  return 'matching' in known ? known.matching(name) : known.filter((e) => hostsFieldMatches(e.hosts, name));
}

function verdictFor(known: KnownHosts, name: string, key: Buffer): HostKeyVerdict {
  const type = keyBlobType(key);
  const forName = matching(known, name);
  const revoked = forName.find((e) => e.revoked && e.key.equals(key));
  if (revoked !== undefined) return { status: 'revoked', entry: revoked };
  const usable = forName.filter((e) => !e.revoked);
  const same = usable.find((e) => e.key.equals(key));
  if (same !== undefined) return { status: 'known', entry: same };
  const sameType = usable.filter((e) => e.keyType === type);
  if (sameType.length > 0) return { status: 'changed', entries: sameType };
  return { status: 'unknown' };
}

/**
 * Looks the key up under each name in turn (the inventory name first, then the address):
 * the first name with an entry of the key's type decides, as OpenSSH's host lookup does.
 * A revoked key is refused under any name.
 */
export function verifyHostKey(known: KnownHosts, names: readonly string[], key: Buffer): HostKeyVerdict {
  const verdicts = names.map((name) => verdictFor(known, name, key));
  const revoked = verdicts.find((v) => v.status === 'revoked');
  if (revoked !== undefined) return revoked;
  return verdicts.find((v) => v.status !== 'unknown') ?? { status: 'unknown' };
}

/** Key types known for any of the names: offered first in the handshake, as OpenSSH does. */
export function knownKeyTypes(known: KnownHosts, names: readonly string[]): string[] {
  const types = names
    .flatMap((n) => matching(known, n))
    .filter((e) => !e.revoked)
    .sort((a, b) => a.line - b.line)
    .map((e) => e.keyType);
  return [...new Set(types)];
}

/** Reads a known_hosts file; a missing file is an empty one (every host is then unknown). */
export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function hashName(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/**
 * Appends a key for names (trust on first use). Hashes the names when every existing entry is
 * hashed, so a file kept hashed (HashKnownHosts) stays that way. One appendFile per call: O_APPEND
 * keeps lines whole when several connections record keys at once.
 */
export async function appendKnownHost(file: string, names: readonly string[], key: Buffer): Promise<void> {
  const existing = await readKnownHosts(file);
  const hashed = existing.length > 0 && existing.every((e) => e.hosts.startsWith('|1|'));
  const type = keyBlobType(key) ?? 'unknown';
  const blob = key.toString('base64');
  const lines = hashed
    ? names.map((n) => `${hashName(n)} ${type} ${blob}\n`)
    : [`${names.join(',')} ${type} ${blob}\n`];
  let prefix = '';
  try {
    const text = await readFile(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) prefix = '\n';
  } catch {
    // A missing file is created by appendFile.
  }
  await appendFile(file, prefix + lines.join(''), { mode: 0o600 });
}
