import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { checkReleaseArg, checkReleaseTemplates } from '../../../src/commands/release-arg.js';
import { probeVars } from '../../../src/health/vars.js';
import { renderUrl } from '../../../src/transport/template.js';
import type { Inventory } from '../../../src/inventory/types.js';
import { check, cluster, FILE, lineOf, onlyError } from './helpers.js';

const inventoryOf = (text: string): Inventory => {
  const r = check(text);
  if (r.inventory === null) throw new Error(r.errors.join('\n'));
  return r.inventory;
};
const clustersOf = (inv: Inventory) => inv.datacenters.flatMap((d) => d.clusters);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isRolloutError(error, 'E_USAGE')) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('template placeholders', () => {
  it('accepts {port} in a health URL and renders it as the SSH port', () => {
    const inv = inventoryOf(cluster(['ssh: { port: 2222 }', 'health: { url: "http://{address}:{port}/ping" }']));
    const host = clustersOf(inv)[0]?.hosts[0];
    if (host === undefined) throw new Error('no host');
    expect(renderUrl(host.settings.health.url ?? '', probeVars(host, undefined))).toBe(
      'http://mw1.eqiad.wmnet:2222/ping',
    );
  });

  it('refuses an unknown placeholder with file:line', () => {
    const text = cluster(['health: { url: "http://{adress}/ping" }']);
    expect(onlyError(check(text))).toMatch(
      new RegExp(`^${FILE}:${lineOf(text, 'adress')}:\\d+: .*health\\.url: unknown placeholder \\{adress\\}`),
    );
  });

  it('refuses {release} in a drain or opcache template, which runs before the restart', () => {
    const drain = cluster(['drain: { statusCommand: "fpm-status {release}" }']);
    expect(onlyError(check(drain))).toMatch(
      new RegExp(`^${FILE}:${lineOf(drain, 'fpm-status')}:\\d+: .*drain\\.statusCommand: \\{release\\} has no value`),
    );
    const opcache = cluster(['restart: { opcache: { url: "http://{host}/op?{release}" } }']);
    expect(onlyError(check(opcache))).toContain('restart.opcache.url: {release} has no value');
  });
});

describe('a template that needs --release', () => {
  const text = cluster([
    'health: { type: http, url: "http://{host}/ping?r={release}", releaseHeader: X-Release }',
    'restart: { command: "systemctl restart php-fpm", emergencyCommand: "deploy {release} && systemctl restart php-fpm" }',
  ]);
  const clusters = clustersOf(inventoryOf(text));

  it('is refused without --release, naming the setting, file:line and the flag', () => {
    const message = refusal(() =>
      checkReleaseTemplates(clusters, { release: undefined, emergency: false, skipGate: false }),
    );
    expect(message).toMatch(new RegExp(`^${FILE}:${lineOf(text, 'ping?r=')}:\\d+: `));
    expect(message).toContain('health.url names {release}');
    expect(message).toContain('--release');
  });

  it('passes with --release', () => {
    expect(refusal(() => checkReleaseTemplates(clusters, { release: 'r2', emergency: false, skipGate: false }))).toBe(
      'accepted',
    );
  });

  it('counts only the templates the run would use (the emergency command only in an emergency)', () => {
    const onlyEmergency = clustersOf(
      inventoryOf(cluster(['restart: { command: "true", emergencyCommand: "deploy {release}" }'])),
    );
    const opts = { release: undefined, skipGate: false };
    expect(refusal(() => checkReleaseTemplates(onlyEmergency, { ...opts, emergency: false }))).toBe('accepted');
    expect(refusal(() => checkReleaseTemplates(onlyEmergency, { ...opts, emergency: true }))).toContain(
      'restart.emergencyCommand names {release}',
    );
  });

  it('counts the canary gate unless it is skipped', () => {
    const gated = clustersOf(
      inventoryOf(cluster(['canary: { batch: 1, soakSeconds: 1, gate: { command: "check {release} {hosts}" } }'])),
    );
    const opts = { release: undefined, emergency: false };
    expect(refusal(() => checkReleaseTemplates(gated, { ...opts, skipGate: false }))).toContain(
      'canary.gate.command names {release}',
    );
    expect(refusal(() => checkReleaseTemplates(gated, { ...opts, skipGate: true }))).toBe('accepted');
  });
});

describe('--release', () => {
  it('accepts ordinary release ids', () => {
    for (const id of ['r2', '1.2.3', 'wmf.12+build-7', '2026-11-24:1']) expect(checkReleaseArg(id)).toBe(id);
  });

  it('refuses option-like, dotted-up and shell-special ids', () => {
    for (const id of ['-oFoo', '..', 'a..b', '.hidden', 'a b', 'a;b', '$(x)', '', 'x'.repeat(129)])
      expect(refusal(() => checkReleaseArg(id))).toContain('--release: expected a release id');
  });
});

describe('ssh.jumpHost', () => {
  it('is parsed at load time: a bad one is refused with file:line', () => {
    const text = cluster(['ssh: { jumpHost: "not a valid jump host;id" }']);
    expect(onlyError(check(text))).toMatch(
      new RegExp(`^${FILE}:${lineOf(text, 'jumpHost')}:\\d+: .*ssh\\.jumpHost: expected "user@host:port"`),
    );
  });

  it('accepts the forms the transport accepts', () => {
    for (const spec of ['bastion', 'deploy@bastion:2222', 'bastion:22', '[::1]:22'])
      expect(check(cluster([`ssh: { jumpHost: "${spec}" }`])).errors).toEqual([]);
  });
});

describe('etcd.prefix', () => {
  for (const prefix of ['/rollout/v1/pools', '/rollout', '/rollout/', '/'])
    it(`refuses ${prefix}, which overlaps rollout's own keys, with file:line`, () => {
      const text = `etcd:\n  prefix: "${prefix}"\n${cluster([])}`;
      expect(onlyError(check(text))).toMatch(new RegExp(`^${FILE}:2:\\d+: etcd\\.prefix: .*overlaps /rollout/`));
    });

  it('accepts conftool prefixes', () => {
    for (const prefix of ['/conftool/v1/pools', '/ro', '/rollouts'])
      expect(check(`etcd:\n  prefix: "${prefix}"\n${cluster([])}`).errors).toEqual([]);
  });
});
