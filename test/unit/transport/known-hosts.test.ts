import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  fingerprint,
  hostKeyName,
  hostsFieldMatches,
  keyBlobType,
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
} from '../../../src/transport/known-hosts.js';
import { removeTempDirs, tempDir } from '../../support/tmp.js';

afterAll(removeTempDirs);

function blob(type: string, filler: number): Buffer {
  const name = Buffer.from(type, 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, Buffer.alloc(32, filler)]);
}

const ED_A = blob('ssh-ed25519', 1);
const ED_B = blob('ssh-ed25519', 2);
const RSA = blob('ssh-rsa', 3);
const line = (hosts: string, key: Buffer): string => `${hosts} ${keyBlobType(key) ?? ''} ${key.toString('base64')}`;

function hashed(name: string, salt = Buffer.alloc(20, 7)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts parsing', () => {
  it('skips comments, blank lines, @cert-authority lines and lines whose key does not decode to its type', () => {
    const entries = parseKnownHosts(
      [
        '# a comment',
        '',
        line('mw1', ED_A),
        `@cert-authority *.example ${keyBlobType(ED_B) ?? ''} ${ED_B.toString('base64')}`,
        'mw2 ssh-ed25519 bm90IGEga2V5',
        `@revoked * ${keyBlobType(RSA) ?? ''} ${RSA.toString('base64')}`,
      ].join('\n'),
    );
    expect(entries.map((e) => ({ hosts: e.hosts, revoked: e.revoked, line: e.line }))).toEqual([
      { hosts: 'mw1', revoked: false, line: 3 },
      { hosts: '*', revoked: true, line: 6 },
    ]);
  });

  it('names non-22 ports as [host]:port, as OpenSSH does', () => {
    expect(hostKeyName('MW1.eqiad', 22)).toBe('mw1.eqiad');
    expect(hostKeyName('mw1.eqiad', 2222)).toBe('[mw1.eqiad]:2222');
  });

  it('matches comma-separated names, wildcards and negations, case-insensitively', () => {
    expect(hostsFieldMatches('mw1,10.0.0.1', '10.0.0.1')).toBe(true);
    expect(hostsFieldMatches('*.eqiad.wmnet,!mw9.eqiad.wmnet', 'MW1.eqiad.wmnet')).toBe(true);
    expect(hostsFieldMatches('*.eqiad.wmnet,!mw9.eqiad.wmnet', 'mw9.eqiad.wmnet')).toBe(false);
    expect(hostsFieldMatches('mw?', 'mw10')).toBe(false);
    expect(hostsFieldMatches('[mw1]:2222', 'mw1')).toBe(false);
    expect(hostsFieldMatches('mw1.eqiad', 'mw1xeqiad')).toBe(false);
  });

  it('matches a hashed |1|salt|hash name only for the name that was hashed', () => {
    expect(hostsFieldMatches(hashed('[mw1]:2222'), '[mw1]:2222')).toBe(true);
    expect(hostsFieldMatches(hashed('[mw1]:2222'), 'mw1')).toBe(false);
  });
});

describe('host key verification', () => {
  const entries = parseKnownHosts([line('mw1', ED_A), line('10.0.0.2', ED_B), line(hashed('mw3'), RSA)].join('\n'));

  it('accepts the key on file for the name', () => {
    expect(verifyHostKey(entries, ['mw1', '10.0.0.1'], ED_A).status).toBe('known');
  });

  it('reports a different key of the same type under the name as changed', () => {
    const verdict = verifyHostKey(entries, ['mw1', '10.0.0.1'], ED_B);
    expect(verdict.status).toBe('changed');
  });

  it('falls back to the address when the name has no entry', () => {
    expect(verifyHostKey(entries, ['mw2', '10.0.0.2'], ED_B).status).toBe('known');
    expect(verifyHostKey(entries, ['mw2', '10.0.0.2'], ED_A).status).toBe('changed');
  });

  it('reports a host found under no name as unknown', () => {
    expect(verifyHostKey(entries, ['mw7', '10.0.0.7'], ED_A).status).toBe('unknown');
  });

  it('finds a key under a hashed name', () => {
    expect(verifyHostKey(entries, ['mw3'], RSA).status).toBe('known');
  });

  it('refuses a key marked @revoked even when it is also listed as valid', () => {
    const withRevoked = parseKnownHosts([line('mw1', ED_A), `@revoked ${line('*', ED_A)}`].join('\n'));
    expect(verifyHostKey(withRevoked, ['mw1'], ED_A).status).toBe('revoked');
  });

  it('lists the key types on file for a host, to offer them first', () => {
    expect(knownKeyTypes(entries, ['mw3'])).toEqual(['ssh-rsa']);
    expect(knownKeyTypes(entries, ['mw1', '10.0.0.2'])).toEqual(['ssh-ed25519']);
  });

  it('prints fingerprints as SHA256 base64 without padding', () => {
    expect(fingerprint(ED_A)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});

describe('recording new host keys', () => {
  it('appends a plain line for every name, after a last line without a newline', async () => {
    const file = join(tempDir('rollout-kh-'), 'known_hosts');
    writeFileSync(file, line('mw1', ED_A));
    await appendKnownHost(file, ['[mw2]:2222', '[10.0.0.2]:2222'], ED_B);
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries.map((e) => e.hosts)).toEqual(['mw1', '[mw2]:2222,[10.0.0.2]:2222']);
    expect(verifyHostKey(entries, ['[mw2]:2222'], ED_B).status).toBe('known');
  });

  it('keeps a fully hashed file hashed', async () => {
    const file = join(tempDir('rollout-kh-'), 'known_hosts');
    writeFileSync(file, `${line(hashed('mw1'), ED_A)}\n`);
    await appendKnownHost(file, ['mw2', '10.0.0.2'], ED_B);
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(verifyHostKey(entries, ['10.0.0.2'], ED_B).status).toBe('known');
  });
});
