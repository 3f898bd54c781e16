import { describe, expect, it } from 'vitest';
import type { InventoryHost } from '../../../src/inventory/types.js';
import { DEFAULT_CLUSTER_SETTINGS, DEFAULT_HOST_SETTINGS } from '../../../src/inventory/defaults.js';
import { check } from './helpers.js';

const layered = [
  'defaults:',
  '  weight: 10',
  '  batch: { size: 10% }',
  '  ssh: { user: deploy, port: 22, connectTimeout: 7 }',
  '  health: { url: "http://{address}/health", attempts: 3 }',
  'datacenters:',
  '  eqiad:',
  '    weight: 20',
  '    ssh: { port: 2200 }',
  '    clusters:',
  '      appserver:',
  '        batch: { size: [1, 25%] }',
  '        ssh: { user: ops }',
  '        hosts:',
  '          - "mw[1-2].eqiad"',
  '          - { name: mw3.eqiad, weight: 40, port: 2222, address: 10.0.0.3, health: { attempts: 9 } }',
  '      jobrunner:',
  '        minPooled: 1',
  '        hosts: [job1.eqiad]',
  '  codfw:',
  '    clusters:',
  '      appserver: { hosts: [mw1.codfw] }',
  '',
].join('\n');

function host(name: string): InventoryHost {
  const r = check(layered);
  expect(r.errors).toEqual([]);
  const h = r.inventory?.datacenters.flatMap((d) => d.clusters.flatMap((c) => c.hosts)).find((x) => x.name === name);
  if (h === undefined) throw new Error(`no host ${name}`);
  return h;
}

describe('settings merge defaults → datacenter → cluster → host', () => {
  it('lets the nearest level win, field by field inside a group', () => {
    const h = host('mw1.eqiad');
    expect(h.settings.weight).toBe(20);
    expect(h.settings.ssh).toMatchObject({ user: 'ops', port: 2200, connectTimeoutSeconds: 7 });
    expect(h.settings.health).toMatchObject({ url: 'http://{address}/health', attempts: 3 });
  });

  it('applies host-level settings to that host only, with port as ssh.port', () => {
    const h = host('mw3.eqiad');
    expect(h.address).toBe('10.0.0.3');
    expect(h.settings.weight).toBe(40);
    expect(h.settings.ssh).toMatchObject({ user: 'ops', port: 2222, connectTimeoutSeconds: 7 });
    expect(h.settings.health).toMatchObject({ url: 'http://{address}/health', attempts: 9 });
    expect(host('mw2.eqiad').settings.ssh.port).toBe(2200);
  });

  it('does not leak one datacenter or cluster into another', () => {
    const h = host('mw1.codfw');
    expect(h.settings.weight).toBe(10);
    expect(h.settings.ssh).toMatchObject({ user: 'deploy', port: 22 });
    expect(host('job1.eqiad').settings.ssh.user).toBe('deploy');
  });

  it('resolves cluster settings from the nearest level', () => {
    const r = check(layered);
    const [appserver, jobrunner] = r.inventory?.datacenters[0]?.clusters ?? [];
    expect(appserver?.settings.batchSize).toEqual([
      { kind: 'count', value: 1 },
      { kind: 'percent', value: 25 },
    ]);
    expect(jobrunner?.settings).toEqual({
      ...DEFAULT_CLUSTER_SETTINGS,
      batchSize: [{ kind: 'percent', value: 10 }],
      minPooled: { kind: 'count', value: 1 },
    });
  });

  it('uses the address as the name when none is given', () => {
    expect(host('mw1.eqiad').address).toBe('mw1.eqiad');
  });
});

describe('built-in defaults', () => {
  const bare = check('datacenters: { eqiad: { clusters: { appserver: { hosts: [mw1.x] } } } }\n');
  const h = bare.inventory?.datacenters[0]?.clusters[0]?.hosts[0];

  it('fill every setting of a bare inventory', () => {
    expect(bare.errors).toEqual([]);
    expect(h?.settings).toEqual(DEFAULT_HOST_SETTINGS);
    expect(h?.settings.ssh.user).toBe('deploy');
    expect(bare.inventory?.datacenters[0]?.clusters[0]?.settings).toEqual(DEFAULT_CLUSTER_SETTINGS);
    expect(bare.inventory?.etcd.endpoints).toEqual(['http://127.0.0.1:2379']);
    expect(bare.inventory?.run).toEqual({
      failureBudget: 0,
      parallelClusters: 5,
      sshConcurrency: 64,
      capacityWaitSeconds: 60,
    });
  });

  it('use the restart command for emergencies unless an emergency command is written', () => {
    const r = check(
      'defaults: { restart: { command: "sudo fpm-restart" } }\ndatacenters: { e: { clusters: { a: { hosts: [x1] } } } }\n',
    );
    expect(r.inventory?.datacenters[0]?.clusters[0]?.hosts[0]?.settings.restart).toMatchObject({
      command: 'sudo fpm-restart',
      emergencyCommand: 'sudo fpm-restart',
    });
  });

  it('drain by status page when a status URL is set and no mode is written, else for fixed seconds', () => {
    const r = check(
      'defaults: { drain: { statusUrl: "http://{address}/fpm-status?json" } }\ndatacenters: { e: { clusters: { a: { hosts: [x1] } } } }\n',
    );
    expect(r.inventory?.datacenters[0]?.clusters[0]?.hosts[0]?.settings.drain.mode).toBe('status');
    expect(h?.settings.drain).toMatchObject({ mode: 'fixed', seconds: 5 });
  });

  it('check health over HTTP at http://{address}/ unless told otherwise', () => {
    expect(h?.settings.health).toMatchObject({ type: 'http', url: 'http://{address}/' });
    const r = check(
      'defaults: { health: { type: command, command: "true" } }\ndatacenters: { e: { clusters: { a: { hosts: [x1] } } } }\n',
    );
    expect(r.inventory?.datacenters[0]?.clusters[0]?.hosts[0]?.settings.health).toMatchObject({
      type: 'command',
      command: 'true',
      url: undefined,
    });
  });
});
