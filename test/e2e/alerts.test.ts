import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, exitOf, rollout, spawnRollout, until } from './helpers.js';
import { useSandbox } from './use-sandbox.js';

// Why: the sandbox's own Alertmanager (scripts/sandbox up --alertmanager), on <net>.2.
const AM_ADDRESS = `${NETS.alerts}.2`;
const AM_PORT = 9093;
const TTL = 12;

const fx = useSandbox(
  'alerts',
  {
    dcs: ['eqiad'],
    clusters: ['appserver'],
    hostsPerCluster: 3,
    net: NETS.alerts,
    sshBasePort: 2780,
    release: 'r1',
    alertmanager: true,
  },
  (doc) => {
    // Why: a host stays depooled for a few seconds, long enough to look at Alertmanager while it is.
    doc.setIn(['defaults', 'drain'], doc.createNode({ mode: 'fixed', seconds: 3 }));
    doc.setIn(['defaults', 'minPooled'], '50%');
    // The sandbox wrote alerts: for its Alertmanager; the test narrows the matchers and shortens the ttl.
    expect(doc.getIn(['alerts', 'alertmanager', 'urls'])?.toString()).toContain(AM_ADDRESS);
    doc.set(
      'alerts',
      doc.createNode({
        alertmanager: {
          urls: [`http://${AM_ADDRESS}:${AM_PORT}`],
          matchers: ['instance=~"{host}(:[0-9]+)?"', 'cluster="{cluster}"'],
          ttl: TTL,
        },
      }),
    );
  },
);

const am = { url: `http://${AM_ADDRESS}:${AM_PORT}` };

interface AmSilence {
  id: string;
  status: { state: string };
  createdBy: string;
  endsAt: string;
  matchers: { name: string; value: string }[];
}
interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[] };
}

async function silences(): Promise<AmSilence[]> {
  return (await (await fetch(`${am.url}/api/v2/silences`)).json()) as AmSilence[];
}
const activeOf = async (runTag: string): Promise<AmSilence[]> =>
  (await silences()).filter((s) => s.status.state === 'active' && s.createdBy.includes(runTag));

/** One firing alert per host, labelled as node_exporter's would be: Alertmanager itself says which a silence mutes. */
async function fireAlerts(): Promise<void> {
  const endsAt = new Date(Date.now() + 3_600_000).toISOString();
  const alerts = fx.sandbox.hosts.map((h) => ({
    labels: { alertname: 'PhpFpmDown', instance: `${h.name}:9100`, cluster: h.cluster },
    endsAt,
  }));
  const r = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  expect(r.status).toBe(200);
}

async function alertOf(host: string): Promise<AmAlert | undefined> {
  const all = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as AmAlert[];
  return all.find((a) => a.labels['instance'] === `${host}:9100`);
}

async function depooled(): Promise<string[]> {
  return (await fx.kv.list('/conftool/v1/pools/eqiad/'))
    .filter((e) => (JSON.parse(e.value) as { pooled: string }).pooled === 'no')
    .map((e) => e.key.split('/').pop() ?? '');
}

function variant(name: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(fs.readFileSync(fx.inventory, 'utf8'));
  edit(doc);
  const file = fx.inventory.replace(/\.yaml$/, `-${name}.yaml`);
  fs.writeFileSync(file, doc.toString());
  return file;
}

describe('alert silences in a real Alertmanager', () => {
  it('silences each depooled host while it is depooled (its alert is suppressed), and leaves no silence of the run active', async () => {
    await fireAlerts();
    const child = spawnRollout(['sync', '--json'], fx.inventory);
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const seen = new Map<string, AmAlert>();
    const exit = exitOf(child);
    let done = false;
    void exit.then(() => (done = true));
    while (!done) {
      for (const host of await depooled()) {
        const alert = await alertOf(host);
        if (alert && !seen.has(host)) seen.set(host, alert);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await exit).toBe(0);
    // Every host was seen depooled, and at that moment Alertmanager suppressed its alert by a silence.
    expect([...seen.keys()].sort()).toEqual(fx.sandbox.hosts.map((h) => h.name).sort());
    for (const [host, alert] of seen) {
      expect(alert.status.state, host).toBe('suppressed');
      expect(alert.status.silencedBy, host).toHaveLength(1);
    }
    const runId = String(events(stdout).find((e) => e['event'] === 'run.started')?.['runId']);
    expect(await activeOf(`(rollout run ${runId})`)).toEqual([]);
    for (const h of fx.sandbox.hosts) expect((await alertOf(h.name))?.status.state, h.name).toBe('active');
    // Every silence was bounded: ttl from its start, never open-ended.
    const ours = (await silences()).filter((s) => s.createdBy.includes(runId));
    expect(ours.length).toBeGreaterThanOrEqual(3);
  }, 180_000);

  it('lets the silences of a SIGKILLed run lapse within their ttl, and recover repools its host', async () => {
    const child = spawnRollout(['sync', '--json'], fx.inventory);
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const host = await until('a host depooled', async () => (await depooled())[0], 60_000);
    const runId = await until(
      'the run id',
      async () => events(stdout).find((e) => e['event'] === 'run.started')?.['runId'],
    );
    const tag = `(rollout run ${String(runId)})`;
    await until('its silence', async () => (await activeOf(tag)).length > 0);
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await exitOf(child);
    const left = await activeOf(tag);
    expect(left.length).toBeGreaterThan(0);
    for (const s of left) expect(Date.parse(s.endsAt)).toBeLessThanOrEqual(killedAt + TTL * 1000);
    await until('the silences to lapse', async () => (await activeOf(tag)).length === 0, (TTL + 20) * 1000);
    expect(await depooled()).toContain(host);
    expectExit(await rollout(['recover', '--yes', '--grace', '0'], fx.inventory), 0);
    expect(await depooled()).toEqual([]);
  }, 180_000);

  it("has recover expire a SIGKILLed run's silences at once, long before their ttl", async () => {
    const long = variant('long-ttl', (doc) => doc.setIn(['alerts', 'alertmanager', 'ttl'], '10m'));
    const child = spawnRollout(['sync', '--json'], long);
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const runId = await until(
      'the run id',
      async () => events(stdout).find((e) => e['event'] === 'run.started')?.['runId'],
    );
    const tag = `(rollout run ${String(runId)})`;
    await until(
      'a depooled host with its silence',
      async () => (await depooled()).length > 0 && (await activeOf(tag)).length > 0,
      60_000,
    );
    child.kill('SIGKILL');
    await exitOf(child);
    const killedAt = Date.now();
    // Why: recover leaves a run alone while its lock lease (10 s) lasts; it acts once the lease is gone.
    const r = await until(
      'recover to act on the dead run',
      async () => {
        const attempt = await rollout(['recover', '--yes', '--grace', '0'], long);
        return attempt.stdout.includes(String(runId)) ? attempt : undefined;
      },
      60_000,
    );
    expect(r.stderr).toMatch(/expired \d+ alert silence\(s\) the dead run\(s\) left/);
    expect(await activeOf(tag)).toEqual([]);
    const ours = (await silences()).filter((x) => x.createdBy.endsWith(tag));
    for (const x of ours) expect(Date.parse(x.endsAt)).toBeLessThan(killedAt + 5 * 60_000);
    expect(await depooled()).toEqual([]);
  }, 180_000);

  it('leaves every host pooled and fails with E_ALERTS when Alertmanager does not answer', async () => {
    const down = variant('down', (doc) =>
      doc.setIn(['alerts', 'alertmanager', 'urls'], doc.createNode([`http://${NETS.alerts}.6:${AM_PORT}`])),
    );
    const before = await fx.kv.list('/conftool/v1/pools/eqiad/');
    const r = await rollout(['sync', '--json'], down);
    expectExit(r, 1);
    const failed = events(r.stdout).filter((e) => e['event'] === 'host.failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect(e).toMatchObject({ code: 'E_ALERTS', step: 'depool', depooled: false });
    expect(events(r.stdout).filter((e) => e['event'] === 'host.depooled')).toEqual([]);
    const after = await fx.kv.list('/conftool/v1/pools/eqiad/');
    expect(after.map((e) => e.modRevision)).toEqual(before.map((e) => e.modRevision));
  }, 120_000);

  it('goes on with a warning per host when Alertmanager does not answer and alerts.required is false', async () => {
    const optional = variant('optional', (doc) => {
      doc.setIn(['alerts', 'alertmanager', 'urls'], doc.createNode([`http://${NETS.alerts}.6:${AM_PORT}`]));
      doc.setIn(['alerts', 'required'], false);
    });
    const r = await rollout(['sync', '--json'], optional);
    expectExit(r, 0);
    const warnings = events(r.stdout).filter(
      (e) => e['event'] === 'run.warning' && String(e['message']).includes('going on without it'),
    );
    expect(warnings).toHaveLength(3);
  }, 120_000);
});
