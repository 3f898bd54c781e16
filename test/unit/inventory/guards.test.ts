import { describe, expect, it } from 'vitest';
import { check, cluster, FILE, lineOf, onlyError } from './helpers.js';

const gate = 'gate: { haproxyStats: { socket: /run/haproxy/admin.sock, maxErrorRatio: 0.05 } }';

describe('canary and the fleet-wide cap in the inventory', () => {
  it('reads a canary with its gate and the defaults it leaves out', () => {
    const r = check(cluster(['canary:', '  batch: [mw2.eqiad.wmnet]', '  soakSeconds: 45', `  ${gate}`]));
    expect(r.errors).toEqual([]);
    expect(r.inventory?.datacenters[0]?.clusters[0]?.settings.canary).toEqual({
      batch: { kind: 'hosts', hosts: ['mw2.eqiad.wmnet'] },
      soakSeconds: 45,
      gate: {
        haproxyStats: {
          socket: '/run/haproxy/admin.sock',
          url: undefined,
          backend: '{dc}_{cluster}',
          maxErrorRatio: 0.05,
          maxIncrease: 0.02,
          minRequests: 10,
        },
        command: undefined,
        url: undefined,
        timeoutSeconds: 30,
      },
    });
  });

  it('reads run.maxConcurrentRestarts and run.restartSlotScope', () => {
    const r = check(`run: { maxConcurrentRestarts: 4, restartSlotScope: service }\n${cluster([])}`);
    expect(r.inventory?.run).toMatchObject({ maxConcurrentRestarts: 4, restartSlotScope: 'service' });
  });

  it('rejects a canary host that is not in the cluster, at the line of canary.batch', () => {
    const text = cluster(['canary:', '  batch: [mw9.eqiad.wmnet]', `  ${gate}`]);
    expect(onlyError(check(text))).toBe(
      `${FILE}:${lineOf(text, 'batch: [mw9')}:18: datacenters.eqiad.clusters.appserver.canary.batch: mw9.eqiad.wmnet is not a host of this cluster (its hosts: mw1.eqiad.wmnet, mw2.eqiad.wmnet, mw3.eqiad.wmnet, mw4.eqiad.wmnet)`,
    );
  });

  it('rejects a canary without a gate, a gate with no check, and a stats gate with both socket and url', () => {
    expect(onlyError(check(cluster(['canary: { batch: 1 }'])))).toMatch(
      /canary\.gate: expected a gate \(haproxyStats, command or url\)/,
    );
    expect(onlyError(check(cluster(['canary: { batch: 1, gate: { timeout: 5 } }'])))).toMatch(
      /canary\.gate: a gate needs at least one of haproxyStats, command or url/,
    );
    const both = cluster(['canary: { gate: { haproxyStats: { socket: /s, url: "http://lb/stats;csv" } } }']);
    expect(onlyError(check(both))).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(both, 'canary:')}:\\d+: datacenters\\.eqiad\\.clusters\\.appserver\\.canary\\.gate\\.haproxyStats: set exactly one of socket`,
      ),
    );
  });

  it('rejects a ratio above 1, an unknown placeholder in a gate command, and a bad scope', () => {
    expect(onlyError(check(cluster(['canary: { gate: { haproxyStats: { socket: /s, maxErrorRatio: 5 } } }'])))).toMatch(
      /haproxyStats\.maxErrorRatio: expected a number from 0 to 1, got 5/,
    );
    expect(onlyError(check(cluster(['canary: { gate: { command: "check {host}" } }'])))).toMatch(
      /canary\.gate\.command: unknown placeholder \{host\} .*known: \{dc\} \{cluster\} \{release\} \{hosts\} \{since\} \{seconds\}/,
    );
    expect(onlyError(check(`run: { restartSlotScope: fleet }\n${cluster([])}`))).toMatch(
      /run\.restartSlotScope: expected one of datacenter-service, datacenter-cluster, service, got "fleet"/,
    );
  });

  it('says canary is a cluster setting when it stands on a host', () => {
    const r = check(cluster([], ['- { name: mw1.eqiad.wmnet, canary: { gate: { url: "http://x/" } } }']));
    expect(r.errors.join('\n')).toMatch(/"canary" is a cluster setting/);
  });
});
