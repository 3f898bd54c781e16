// Hosts in several pools (`services: [apache2, nginx]`): one key per service, all depooled in one
// transaction, each repooled by its own CAS, the capacity guard counting a host pooled only in all.
import { describe, expect, it } from 'vitest';
import type { Inventory } from '../../../src/inventory/types.js';
import { poolKeyPath } from '../../../src/pool/store.js';
import { fleet, type FleetClusterOptions } from '../../support/fleet.js';
import { harness, PREFIX, type Harness } from './harness.js';

const SERVICES = ['apache2', 'nginx'] as const;

/** A cluster whose hosts are in apache2 and nginx; `nginx` gives each host's nginx state (default yes). */
async function twoPools(size: number, options: FleetClusterOptions, nginx: readonly string[] = []): Promise<Harness> {
  const built = fleet()
    .cluster('appserver', size, { ...options, settings: { service: 'apache2' } })
    .build();
  const inventory: Inventory = built.inventory;
  for (const c of inventory.datacenters.flatMap((d) => d.clusters))
    for (const host of c.hosts) Object.assign(host.settings, { services: [...SERVICES] });
  const h = await harness(built);
  for (const [i, host] of inventory.datacenters[0]!.clusters[0]!.hosts.entries())
    await h.kv.put(
      poolKeyPath(PREFIX, { dc: 'eqiad', cluster: 'appserver', service: 'nginx', host: host.name }),
      JSON.stringify({ pooled: nginx[i] ?? 'yes', weight: 10 }),
    );
  return h;
}

const path = (service: string, host: string): string =>
  poolKeyPath(PREFIX, { dc: 'eqiad', cluster: 'appserver', service, host });

async function pooled(h: Harness, service: string, host: string): Promise<{ pooled: string; rev: number }> {
  const entry = await h.kv.get(path(service, host));
  return { pooled: (JSON.parse(entry?.value ?? '{}') as { pooled: string }).pooled, rev: entry?.modRevision ?? 0 };
}

describe('a host in several pools', () => {
  it('is depooled in every service in one transaction, restarted, and repooled in every service', async () => {
    const h = await twoPools(2, { batch: 1, minPooled: 1 });
    const seen: Record<string, { pooled: string; rev: number }[]> = {};
    h.exec = async (host, command) => {
      if (command !== 'true') seen[host] = [await pooled(h, 'apache2', host), await pooled(h, 'nginx', host)];
      return undefined;
    };
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    for (const host of ['mw1001', 'mw1002']) {
      const [apache, nginx] = seen[host] ?? [];
      expect([apache?.pooled, nginx?.pooled]).toEqual(['no', 'no']);
      // One transaction: both keys carry its revision.
      expect(apache?.rev).toBe(nginx?.rev);
      expect((await pooled(h, 'apache2', host)).pooled).toBe('yes');
      expect((await pooled(h, 'nginx', host)).pooled).toBe('yes');
    }
    const records = h.journal.filter((r) => r.key.host === 'mw1001');
    expect(new Set(records.map((r) => r.key.service))).toEqual(new Set(SERVICES));
    expect(
      records
        .filter((r) => r.phase === 'repooled')
        .map((r) => r.key.service)
        .sort(),
    ).toEqual([...SERVICES]);
  });

  it('keeps a key an operator changed during the run, reports it, and still repools the other', async () => {
    const h = await twoPools(2, { batch: 1, minPooled: 0 });
    h.exec = async (host, command) => {
      if (host === 'mw1001' && command !== 'true') {
        const entry = await h.kv.get(path('nginx', 'mw1001'));
        await h.kv.put(path('nginx', 'mw1001'), JSON.stringify({ pooled: 'no', weight: 5 }), {
          expectModRevision: entry?.modRevision ?? 0,
        });
      }
      return undefined;
    };
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect((await pooled(h, 'apache2', 'mw1001')).pooled).toBe('yes');
    expect(JSON.parse((await h.kv.get(path('nginx', 'mw1001')))?.value ?? '')).toEqual({ pooled: 'no', weight: 5 });
    const skipped = h.events.filter((e) => e.event === 'host.repool-skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0] && 'reason' in skipped[0] ? skipped[0].reason : '').toMatch(/^nginx: changed by someone else/);
    expect(h.names('host.repooled')).toEqual(['mw1001', 'mw1002']);
    const left = h.journal.filter((r) => r.key.host === 'mw1001' && r.phase === 'left');
    expect(left.map((r) => r.key.service)).toEqual(['nginx']);
  });

  it('counts a host pooled in apache2 but not in nginx as not pooled for the capacity guard', async () => {
    // 4 hosts, minPooled 3: with mw1004 out of nginx only 3 are pooled everywhere, so none may go.
    const h = await twoPools(4, { batch: 1, minPooled: 3 }, ['yes', 'yes', 'yes', 'no']);
    const result = await h.run();
    expect(result.exitCode).toBe(4);
    expect(h.names('host.depooled')).toEqual([]);
  });

  it('depools only the keys that are yes of a host half depooled, and repools only those', async () => {
    const h = await twoPools(2, { batch: 1, minPooled: 0 }, ['no', 'yes']);
    const result = await h.run();
    expect(result.exitCode).toBe(0);
    expect(h.names('host.depooled')).toEqual(['mw1001', 'mw1002']);
    expect((await pooled(h, 'apache2', 'mw1001')).pooled).toBe('yes');
    expect((await pooled(h, 'nginx', 'mw1001')).pooled).toBe('no');
  });
});
