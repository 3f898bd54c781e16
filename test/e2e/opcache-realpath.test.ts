import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { fillOpcache, sandboxDown, sandboxRelease, sandboxUp } from '../../scripts/lib/sandbox.mjs';
import type { SandboxState } from '../../scripts/lib/sandbox.mjs';
import { expectExit } from '../support/explain.js';
import { NETS } from '../support/nets.js';
import { events, pids, rollout, writeTestInventory } from './helpers.js';

/** The inventory with `edit` applied to its YAML document. */
function variant(name: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const file = path.join(work, `${name}.yaml`);
  const doc = parseDocument(fs.readFileSync(inventory, 'utf8'));
  edit(doc);
  fs.writeFileSync(file, doc.toString());
  return file;
}

async function releaseFile(url: string, sleepMs = 0): Promise<string> {
  const res = await fetch(`${url}release-file?sleep=${sleepMs}`);
  return ((await res.json()) as { release: string }).release;
}

let dir: string;
let work: string;
let sandbox: SandboxState;
let inventory: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-opc-'));
  sandbox = await sandboxUp({
    dir,
    dcs: ['eqiad'],
    clusters: ['appserver'],
    hostsPerCluster: 4,
    net: NETS.opcache,
    sshBasePort: 2740,
    release: 'r1',
  });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-opc-work-'));
  inventory = path.join(work, 'opcache.yaml');
  writeTestInventory(sandbox, inventory);
}, 180_000);

afterAll(async () => {
  if (dir) await sandboxDown({ dir });
  if (work) fs.rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('--if-opcache-above on a real sandbox fleet', () => {
  it('depools and restarts only the two hosts whose opcache was filled above the threshold', async () => {
    const [a, b, ...rest] = sandbox.hosts.map((h) => h.name);
    for (const name of [a, b])
      expect((await fillOpcache(String(name), 60, { dir })).percent).toBeGreaterThanOrEqual(60);
    const before = await pids(sandbox);
    const result = await rollout(['sync', '--if-opcache-above', '40%', '--json', '--reason', 'e2e'], inventory);
    expectExit(result, 0);
    const evs = events(result.stdout);
    expect(
      evs
        .filter((e) => e['event'] === 'host.depooled')
        .map((e) => e['host'])
        .sort(),
    ).toEqual([a, b]);
    const skipped = evs.filter((e) => e['event'] === 'host.skipped');
    expect(skipped.map((e) => e['host']).sort()).toEqual(rest);
    for (const e of skipped)
      expect(String(e['reason'])).toMatch(
        /^opcache \d+\.\d% used, not above the 40\.0% threshold: not depooled, not restarted$/,
      );
    const after = await pids(sandbox);
    for (const h of sandbox.hosts) {
      if (h.name === a || h.name === b) expect(after.get(h.name), h.name).not.toBe(before.get(h.name));
      else expect(after.get(h.name), h.name).toBe(before.get(h.name));
    }
  }, 180_000);

  it('refuses the flag, changing nothing, when a host has nowhere to read its opcache from', async () => {
    const blind = variant('blind', (doc) => doc.deleteIn(['defaults', 'restart', 'opcache']));
    const result = await rollout(['sync', '--if-opcache-above', '40%', '--reason', 'e2e'], blind);
    expectExit(result, 2);
    expect(result.stderr).toMatch(
      /--if-opcache-above: mw\d+\.eqiad\.sandbox has no restart\.opcache\.url or restart\.opcache\.command/,
    );
  }, 60_000);
});

describe('the realpath cache on a real sandbox fleet', () => {
  it('a --release check that reads the release through the current symlink catches workers still on the old release', async () => {
    // Every worker of every host resolves current/ once, so its realpath cache holds the r1 directory.
    await Promise.all(sandbox.hosts.flatMap((h) => Array.from({ length: 4 }, () => releaseFile(h.httpUrl, 300))));
    await sandboxRelease('r2', [], { dir });
    for (const h of sandbox.hosts)
      expect(await releaseFile(h.httpUrl), `${h.name} right after the symlink swap`).toBe('r1');
    const throughSymlink = (doc: ReturnType<typeof parseDocument>): void => {
      doc.setIn(
        ['defaults', 'health'],
        doc.createNode({
          type: 'http',
          url: 'http://{address}:8080/release-file',
          releaseField: 'release',
          attempts: 3,
          interval: 1,
          timeout: 4,
          requestTimeout: 2,
        }),
      );
    };
    // A "restart" that leaves the masters running (as a reload that keeps the workers' caches would).
    const noRestart = variant('no-restart', (doc) => {
      throughSymlink(doc);
      doc.setIn(['defaults', 'restart', 'emergencyCommand'], 'true');
    });
    const stale = await rollout(
      ['sync', '--emergency', '--yes', '--release', 'r2', '--json', '--reason', 'e2e'],
      noRestart,
    );
    expectExit(stale, 1);
    const failed = events(stale.stdout).filter((e) => e['event'] === 'host.failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect(String(e['reason'])).toMatch(/serves release r1, expected r2 \(field release\)/);
    const restarted = await rollout(
      ['sync', '--release', 'r2', '--reason', 'e2e'],
      variant('through-symlink', throughSymlink),
    );
    expectExit(restarted, 0);
    for (const h of sandbox.hosts) expect(await releaseFile(h.httpUrl), h.name).toBe('r2');
  }, 180_000);
});
