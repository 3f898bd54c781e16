import { describe, expect, it } from 'vitest';
import { allHosts } from '../../../src/inventory/types.js';
import { check, cluster, FILE, lineOf, onlyError } from './helpers.js';

const DUAL = [
  'restart:',
  '  strategy: dual-master',
  '  dualMaster:',
  '    dormantCommand: php-slot dormant',
  '    restartCommand: php-slot restart {slot}',
  '    switchCommand: php-slot switch {slot}',
  '    statusUrl: "http://{address}:808{slot}/fpm-status?json"',
  '    healthUrl: { A: "http://{address}:8081/", B: "http://{address}:8082/" }',
];

describe('restart.strategy: dual-master', () => {
  it('reads the templates, one URL per slot, and the defaults', () => {
    const r = check(cluster(DUAL));
    expect(r.errors).toEqual([]);
    const restart = allHosts(r.inventory!)[0]!.settings.restart;
    expect(restart.strategy).toBe('dual-master');
    expect(restart.dualMaster).toEqual({
      dormantCommand: 'php-slot dormant',
      restartCommand: 'php-slot restart {slot}',
      emergencyRestartCommand: 'php-slot restart {slot}',
      switchCommand: 'php-slot switch {slot}',
      statusUrl: { A: 'http://{address}:808A/fpm-status?json', B: 'http://{address}:808B/fpm-status?json' },
      healthUrl: { A: 'http://{address}:8081/', B: 'http://{address}:8082/' },
      masterField: 'masterPid',
      idleTimeoutSeconds: 30,
    });
  });

  it('refuses the strategy without its pieces, where the strategy is written', () => {
    const text = cluster(['restart: { strategy: dual-master }']);
    expect(onlyError(check(text))).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, 'strategy')}:\\d+: datacenters\\.eqiad\\.clusters\\.appserver\\.restart\\.strategy: strategy "dual-master" needs restart\\.dualMaster`,
      ),
    );
  });

  it('names a missing piece and a restart command without {slot} by file:line', () => {
    const text = cluster(
      DUAL.filter((l) => !l.includes('switchCommand')).map((l) => l.replace('restart {slot}', 'restart')),
    );
    const r = check(text);
    expect(r.inventory).toBeNull();
    expect(r.errors).toEqual([
      `${FILE}:${lineOf(text, 'dormantCommand')}:13: datacenters.eqiad.clusters.appserver.restart.dualMaster.switchCommand: switchCommand is required for the dual-master strategy (see docs/inventory.md)`,
      `${FILE}:${lineOf(text, 'restartCommand')}:29: datacenters.eqiad.clusters.appserver.restart.dualMaster.restartCommand: restartCommand must name {slot}: it restarts one master, A or B`,
    ]);
  });

  it('refuses an unknown placeholder and a per-slot mapping without B', () => {
    const text = cluster(
      DUAL.map((l) =>
        l.replace('php-slot dormant', 'php-slot dormant {slto}').replace(', B: "http://{address}:8082/"', ''),
      ),
    );
    const r = check(text);
    expect(r.errors.some((e) => e.includes('restart.dualMaster.dormantCommand: unknown placeholder {slto}'))).toBe(
      true,
    );
    expect(r.errors.some((e) => e.includes('restart.dualMaster.healthUrl.B: missing the B master'))).toBe(true);
  });
});

describe('restart.opcache', () => {
  it('reads a url and a percentage threshold', () => {
    const r = check(cluster(['restart: { opcache: { url: "http://{address}/opcache", threshold: 80% } }']));
    expect(r.errors).toEqual([]);
    expect(allHosts(r.inventory!)[0]!.settings.restart.opcache).toEqual({
      url: 'http://{address}/opcache',
      command: undefined,
      thresholdPercent: 80,
    });
  });

  it('wants exactly one source and a percentage', () => {
    const text = cluster(['restart: { opcache: { threshold: 3 } }']);
    const r = check(text);
    expect(r.errors).toEqual([
      expect.stringMatching(/restart\.opcache: give exactly one of url .* or command/),
      expect.stringMatching(/restart\.opcache\.threshold: expected a percentage like "80%"/),
    ]);
  });
});
