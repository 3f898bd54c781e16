import { describe, expect, it } from 'vitest';
import { LineCounter, parseDocument } from 'yaml';
import { validateInventory } from '../../../src/inventory/validate.js';
import { check, cluster, FILE, lineOf, onlyError } from './helpers.js';

describe('validateInventory rejects', () => {
  it('YAML syntax errors, with their position', () => {
    const text = 'datacenters:\n  eqiad: {\n    clusters: [\n';
    const r = check(text);
    expect(r.inventory).toBeNull();
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0]).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: YAML syntax: `));
    expect(r.errors[0]).not.toMatch(/at line \d+, column/);
  });

  it('a key written twice in one mapping', () => {
    const text = cluster(['weight: 10', 'weight: 20']);
    expect(onlyError(check(text))).toMatch(
      new RegExp(`^${FILE}:${lineOf(text, 'weight: 20')}:\\d+: YAML syntax: .*unique`),
    );
  });

  it('an empty document', () => {
    expect(onlyError(check('# nothing here\n'))).toBe(
      `${FILE}:1:1: (document): expected a mapping with etcd, run, defaults and datacenters, got an empty document`,
    );
  });

  it('a document that is not a mapping', () => {
    expect(onlyError(check('- a\n- b\n'))).toMatch(/^inv\.yaml:1:1: \(document\): expected a mapping, got a list/);
  });

  it('a missing datacenters section', () => {
    expect(onlyError(check('run: { failureBudget: 1 }\n'))).toMatch(/^inv\.yaml:1:1: datacenters: missing/);
  });

  it('unknown keys, suggesting the closest known one', () => {
    const text = `defaults:\n  ssh: { usr: deploy }\n${cluster(['minPoled: 50%'])}`;
    const r = check(text);
    expect(r.errors).toEqual([
      `${FILE}:2:10: defaults.ssh.usr: unknown key "usr"; did you mean "user"?`,
      `${FILE}:${lineOf(text, 'minPoled')}:9: datacenters.eqiad.clusters.appserver.minPoled: unknown key "minPoled"; did you mean "minPooled"?`,
    ]);
  });

  it('unknown keys far from any known one, listing the known keys', () => {
    const text = 'etcd: { bananas: 1 }\ndatacenters: {}\n';
    expect(check(text).errors[0]).toMatch(
      /^inv\.yaml:1:9: etcd\.bananas: unknown key "bananas" \(known keys: endpoints, prefix/,
    );
  });

  it('a "…Seconds" spelling of a key whose YAML name has no unit', () => {
    const text = `defaults:\n  restart: { timeoutSeconds: 5 }\n${cluster([])}`;
    expect(onlyError(check(text))).toMatch(
      /defaults\.restart\.timeoutSeconds: unknown key "timeoutSeconds"; did you mean "timeout"\?/,
    );
  });

  it('a host listed twice, naming both places', () => {
    const text = [
      'datacenters:',
      '  eqiad:',
      '    clusters:',
      '      appserver:',
      '        hosts: ["mw[1-3].eqiad.wmnet"]',
      '      api_appserver:',
      '        hosts:',
      '          - mw4.eqiad.wmnet',
      '          - { name: mw2.eqiad.wmnet }',
      '',
    ].join('\n');
    expect(onlyError(check(text))).toBe(
      `${FILE}:9:21: datacenters.eqiad.clusters.api_appserver.hosts[1]: host "mw2.eqiad.wmnet" is listed twice: here and at ${FILE}:5:17; list each host once`,
    );
  });

  it.each(['mw 1.eqiad', 'mw1;reboot', 'mw$(id)', 'mw`id`', 'mw1/x', "mw'1", 'mw"1', '-mw1', 'mw_1.eqiad'])(
    'the host name %s, which is not a DNS name',
    (name) => {
      const text = cluster([], [`- ${JSON.stringify(name)}`]);
      const e = onlyError(check(text));
      expect(e).toMatch(
        new RegExp(`^${FILE}:${lineOf(text, '- ')}:\\d+: datacenters\\.eqiad\\.clusters\\.appserver\\.hosts\\[0\\]: `),
      );
      expect(e).toContain('is not a valid host name');
    },
  );

  it('a service name that is not one segment of a pool key', () => {
    const text = cluster(['service: php/fpm']);
    expect(onlyError(check(text))).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, 'service:')}:\\d+: datacenters\\.eqiad\\.clusters\\.appserver\\.service: service name "php/fpm" is not valid`,
      ),
    );
  });

  it('a host address that is neither an IP nor a DNS name', () => {
    const text = cluster([], ['- { name: mw1.x, address: "10.0.0.1; rm -rf /" }']);
    expect(onlyError(check(text))).toMatch(
      /:\d+:\d+: datacenters\.eqiad\.clusters\.appserver\.hosts\[0\]\.address: expected an IP address or a DNS name/,
    );
  });

  it.each([
    ['0', 'got 0'],
    ['-2', 'got -2'],
    ['"0%"', 'got "0%"'],
    ['"150%"', 'got "150%"'],
    ['ten', 'got "ten"'],
    ['1.5', 'got 1.5'],
    ['"3"', 'got "3"'],
    ['[1, "0%"]', 'got "0%"'],
  ])('the batch size %s', (size, got) => {
    const text = cluster([`batch: { size: ${size} }`]);
    const e = onlyError(check(text));
    expect(e).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, 'batch:')}:\\d+: datacenters\\.eqiad\\.clusters\\.appserver\\.batch\\.size(\\[\\d\\])?: expected a count ≥ 1 or a percentage above 0%`,
      ),
    );
    expect(e).toContain(got);
  });

  it('a batch mode other than window or barrier, with its line', () => {
    const text = cluster(['batch: { size: 2, mode: sliding }']);
    expect(onlyError(check(text))).toMatch(
      /^inv\.yaml:5:\d+: datacenters\.eqiad\.clusters\.appserver\.batch\.mode: expected one of .*window.*barrier.*sliding/,
    );
  });

  it('batch.mode: window by default, barrier when written, inherited from defaults', () => {
    const mode = (text: string) => check(text).inventory?.datacenters[0]?.clusters[0]?.settings.batchMode;
    expect(mode(cluster(['batch: { size: 2 }']))).toBe('window');
    expect(mode(cluster(['batch: { mode: barrier }']))).toBe('barrier');
    expect(mode(`defaults:\n  batch: { mode: barrier }\n${cluster([])}`)).toBe('barrier');
  });

  it('an empty batch ramp', () => {
    const text = cluster(['batch: { size: [] }']);
    expect(onlyError(check(text))).toBe(
      `${FILE}:5:24: datacenters.eqiad.clusters.appserver.batch.size: expected a count, a percentage or a non-empty ramp list like [1, "10%", "25%"], got an empty list`,
    );
  });

  it.each([['"101%"'], ['"-5%"'], ['-1'], ['half']])('minPooled %s', (value) => {
    const text = cluster([`minPooled: ${value}`]);
    expect(onlyError(check(text))).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, 'minPooled')}:20: datacenters\\.eqiad\\.clusters\\.appserver\\.minPooled: expected a count ≥ 0 or a percentage 0%`,
      ),
    );
  });

  it('a cluster with no hosts', () => {
    const text = cluster([], []);
    expect(onlyError(check(text))).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, 'hosts:')}:\\d+: datacenters\\.eqiad\\.clusters\\.appserver\\.hosts: a cluster needs at least one host`,
      ),
    );
  });

  it('a cluster without a hosts key', () => {
    const text = 'datacenters:\n  eqiad:\n    clusters:\n      appserver: { weight: 3 }\n';
    expect(onlyError(check(text))).toBe(
      `${FILE}:4:7: datacenters.eqiad.clusters.appserver: a cluster needs "hosts:" with at least one host`,
    );
  });

  it('a datacenter with no clusters', () => {
    expect(onlyError(check('datacenters:\n  eqiad:\n    clusters: {}\n'))).toBe(
      `${FILE}:3:15: datacenters.eqiad.clusters: a datacenter needs at least one cluster`,
    );
  });

  it('malformed nodesets and reversed ranges', () => {
    const text = cluster([], ['- "mw[10-1].eqiad.wmnet"', '- "mw[1-3.eqiad.wmnet"']);
    expect(check(text).errors).toEqual([
      `${FILE}:${lineOf(text, '[10-1]')}:13: datacenters.eqiad.clusters.appserver.hosts[0]: malformed nodeset "mw[10-1].eqiad.wmnet": reversed range "10-1" (write 1-10)`,
      `${FILE}:${lineOf(text, '[1-3.')}:13: datacenters.eqiad.clusters.appserver.hosts[1]: malformed nodeset "mw[1-3.eqiad.wmnet": unbalanced "[" at position 3`,
    ]);
  });

  it.each([
    ['weight: heavy', 'weight', 'expected an integer ≥ 0, got "heavy"'],
    ['ssh: { port: "22" }', 'ssh.port', 'expected an integer from 1 to 65535, got "22"'],
    ['ssh: { acceptNewHostKeys: "yes" }', 'ssh.acceptNewHostKeys', 'expected true or false, got "yes"'],
    ['restart: { timeout: soon }', 'restart.timeout', 'expected a number of seconds > 0, got "soon"'],
    ['restart: { command: 42 }', 'restart.command', 'expected a non-empty string, got 42'],
    ['drain: { mode: gentle }', 'drain.mode', 'expected one of status, fixed, got "gentle"'],
    ['health: { attempts: 0 }', 'health.attempts', 'expected an integer ≥ 1, got 0'],
    ['health: { expectStatus: 700 }', 'health.expectStatus', 'expected an integer from 100 to 599, got 700'],
    ['health: [http]', 'health', 'expected a mapping, got a list'],
    ['lb: { confirmTimeout: -1 }', 'lb.confirmTimeout', 'expected a number of seconds > 0, got -1'],
    ['services: [apache2, apache2]', 'services', 'service "apache2" is listed twice'],
    ['services: [apache2, "a/b"]', 'services', 'service name "a/b" is not valid'],
    ['lb: { confirm: haproxy }', 'lb.confirm', 'expected one of agents, pybal, none, got "haproxy"'],
    ['lb: { confirm: pybal }', 'lb.confirm', 'confirm "pybal" needs lb.pybal.urls'],
    ['lb: { pybal: { service: x } }', 'lb.pybal.urls', 'urls is required'],
    ['lb: { pybal: { urls: [lvs1001] } }', 'lb.pybal.urls\\[0\\]', 'expected a PyBal instrumentation URL like'],
    ['lb: { pybal: { urls: [http://a:9090], pool: x } }', 'lb.pybal.pool', 'unknown key'],
  ])('a wrong type: %s', (line, key, message) => {
    const text = cluster([line]);
    expect(onlyError(check(text))).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, line)}:\\d+: datacenters\\.eqiad\\.clusters\\.appserver\\.${key.replace('.', '\\.')}: `,
      ),
    );
    expect(onlyError(check(text))).toContain(message);
  });

  it('reads services at any level, the nearest level winning over a service above it', () => {
    const text = cluster(['services: [apache2, nginx]'], ['- mw1', '- { name: mw2, service: php }']);
    const hosts = check(text).inventory?.datacenters[0]?.clusters[0]?.hosts;
    expect(hosts?.map((h) => [h.settings.service, h.settings.services])).toEqual([
      ['apache2', ['apache2', 'nginx']],
      ['php', undefined],
    ]);
  });

  it('refuses service and services at the same level', () => {
    expect(onlyError(check(cluster(['service: a', 'services: [b, c]'])))).toMatch(
      /appserver\.services: give service \(one pool\) or services \(a list\), not both/,
    );
  });

  it('reads lb.confirm: pybal with its URLs and the pool template', () => {
    const text = cluster(['lb: { confirm: pybal, pybal: { urls: [http://lvs1001:9090/], service: "{cluster}_80" } }']);
    const lb = check(text).inventory?.datacenters[0]?.clusters[0]?.hosts[0]?.settings.lb;
    expect(lb).toMatchObject({ confirm: 'pybal', pybal: { urls: ['http://lvs1001:9090'], service: '{cluster}_80' } });
  });

  it('wrong types in the etcd and run sections', () => {
    const text = `etcd: { endpoints: [], dialTimeout: "5s" }\nrun: { sshConcurrency: 0 }\n${cluster([])}`;
    expect(check(text).errors).toEqual([
      `${FILE}:1:20: etcd.endpoints: expected a non-empty list of strings, got an empty list`,
      `${FILE}:1:37: etcd.dialTimeout: expected a number of seconds > 0, got "5s"`,
      `${FILE}:2:24: run.sshConcurrency: expected an integer ≥ 1, got 0`,
    ]);
  });

  it('cluster-only settings on a host', () => {
    const text = cluster([], ['- { name: mw1.x, batch: { size: 1 } }']);
    expect(onlyError(check(text))).toMatch(
      /^inv\.yaml:\d+:28: datacenters\.eqiad\.clusters\.appserver\.hosts\[0\]\.batch: "batch" is a cluster setting/,
    );
  });

  it('etcd and run settings inside a datacenter', () => {
    const text = 'datacenters:\n  eqiad:\n    run: { failureBudget: 1 }\n    clusters: { a: { hosts: [x1] } }\n';
    expect(onlyError(check(text))).toMatch(
      /^inv\.yaml:3:5: datacenters\.eqiad\.run: "run" is a top-level section; move it to the top of the file/,
    );
  });

  it('keys written at the wrong level, saying where they belong', () => {
    const text =
      'defaults: { port: 2222 }\ndatacenters:\n  eqiad:\n    hosts: [x1]\n    clusters: { a: { hosts: [x2], clusters: {} } }\n';
    expect(check(text).errors).toEqual([
      `${FILE}:1:13: defaults.port: "port" is short for ssh.port on a host entry; at this level write ssh: { port: … }`,
      `${FILE}:4:5: datacenters.eqiad.hosts: "hosts" belong to a cluster: datacenters.<dc>.clusters.<cluster>.hosts`,
      `${FILE}:5:35: datacenters.eqiad.clusters.a.clusters: "clusters" belong to a datacenter: datacenters.<dc>.clusters`,
    ]);
  });

  it('unknown placeholders in templates', () => {
    const text = cluster(['health: { url: "http://{adress}/" }']);
    expect(onlyError(check(text))).toMatch(
      /health\.url: unknown placeholder \{adress\} in "http:\/\/\{adress\}\/" \(known: \{host\} \{address\}/,
    );
  });

  it('a status drain with nowhere to read the status from', () => {
    const text = `defaults:\n  drain: { mode: status }\n${cluster([])}`;
    expect(onlyError(check(text))).toBe(
      `${FILE}:2:18: defaults.drain.mode: mode "status" needs drain.statusUrl (PHP-FPM status page, JSON) or drain.statusCommand; set one, or use mode: fixed with drain.seconds`,
    );
  });

  it('a command health check without a command', () => {
    const text = cluster(['health: { type: command }']);
    expect(onlyError(check(text))).toMatch(
      /^inv\.yaml:5:\d+: datacenters\.eqiad\.clusters\.appserver\.health\.type: type "command" needs health\.command/,
    );
  });

  it('both port and ssh.port on one host', () => {
    const text = cluster([], ['- { name: mw1.x, port: 2222, ssh: { port: 22 } }']);
    expect(onlyError(check(text))).toMatch(/hosts\[0\]\.port: both "port" and "ssh\.port" are set/);
  });

  it('one address for a nodeset of several hosts', () => {
    const text = cluster([], ['- { name: "mw[1-2].x", address: 10.0.0.1 }']);
    expect(onlyError(check(text))).toMatch(/hosts\[0\]\.name: "mw\[1-2\]\.x" names 2 hosts but has one address/);
  });

  it('datacenter and cluster names that cannot be etcd key segments', () => {
    const text = 'datacenters:\n  "eq iad":\n    clusters:\n      "app/server": { hosts: [x1] }\n';
    expect(check(text).errors).toEqual([
      `${FILE}:2:3: datacenters.eq iad: datacenter name "eq iad" is not valid: use letters, digits, "_", "-" and "." (it becomes part of etcd keys)`,
      `${FILE}:4:7: datacenters.eq iad.clusters.app/server: cluster name "app/server" is not valid: use letters, digits, "_", "-" and "." (it becomes part of etcd keys)`,
    ]);
  });
});

describe('validateInventory', () => {
  it('reports every error of a file at once', () => {
    const text = [
      'run: { parallelClusters: many }',
      'datacenters:',
      '  eqiad:',
      '    clusters:',
      '      appserver:',
      '        batch: { size: 0 }',
      '        hosts: ["mw[3-1]"]',
      '',
    ].join('\n');
    const r = check(text);
    expect(r.inventory).toBeNull();
    expect(r.errors).toHaveLength(3);
    expect(r.errors.map((e) => e.split(': ')[0])).toEqual([`${FILE}:1:26`, `${FILE}:6:24`, `${FILE}:7:17`]);
  });

  it('reports a repeated mistake of merged settings once, where it was written', () => {
    const text = `defaults:\n  health: { type: command }\n${cluster([], ['- "mw[1-50].x"'])}`;
    expect(check(text).errors).toHaveLength(1);
  });

  it('validates a document parsed by the caller, with positions from its LineCounter', () => {
    const lineCounter = new LineCounter();
    const doc = parseDocument('datacenters:\n  eqiad:\n    clusters: { a: { hosts: [x1], weight: -1 } }\n', {
      lineCounter,
    });
    expect(validateInventory(doc, 'mine.yaml', { lineCounter }).errors).toEqual([
      'mine.yaml:3:43: datacenters.eqiad.clusters.a.weight: expected an integer ≥ 0, got -1',
    ]);
  });

  it('lists hosts of a cluster in natural order', () => {
    const text = cluster([], ['- mw10.x', '- "mw[1-2].x"', '- { name: mw9.x }']);
    const hosts = check(text).inventory?.datacenters[0]?.clusters[0]?.hosts.map((h) => h.name);
    expect(hosts).toEqual(['mw1.x', 'mw2.x', 'mw9.x', 'mw10.x']);
  });

  it('records where each host and cluster was written', () => {
    const text = cluster([], ['- mw1.x', '- { name: mw2.x }']);
    const c = check(text).inventory?.datacenters[0]?.clusters[0];
    expect(c?.source).toEqual({ file: FILE, line: 4, col: 7 });
    expect(c?.hosts.map((h) => h.source)).toEqual([
      { file: FILE, line: 6, col: 13 },
      { file: FILE, line: 7, col: 21 },
    ]);
  });

  it('warns about a count minPooled larger than the cluster', () => {
    const r = check(cluster(['minPooled: 9']));
    expect(r.errors).toEqual([]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/minPooled: minPooled 9 is more than the 4 hosts/);
  });

  it('applies YAML merge keys, written keys first', () => {
    const text = [
      'datacenters:',
      '  eqiad:',
      '    clusters:',
      '      a: &big { weight: 30, ssh: { user: ops }, hosts: [x1] }',
      '      b: { <<: *big, weight: 5, hosts: [x2] }',
      '',
    ].join('\n');
    const r = check(text);
    expect(r.errors).toEqual([]);
    const b = r.inventory?.datacenters[0]?.clusters[1];
    expect(b?.hosts.map((h) => [h.name, h.settings.weight, h.settings.ssh.user])).toEqual([['x2', 5, 'ops']]);
  });

  it('treats host names that differ only in case as the same host', () => {
    const text = cluster([], ['- mw1.x', '- MW1.x']);
    expect(onlyError(check(text))).toMatch(/host "MW1\.x" is listed twice/);
  });

  it('follows YAML aliases', () => {
    const text =
      'defaults:\n  ssh: &ssh { user: ops, port: 2200 }\ndatacenters:\n  eqiad:\n    ssh: *ssh\n    clusters: { a: { hosts: [x1] } }\n';
    const h = check(text).inventory?.datacenters[0]?.clusters[0]?.hosts[0];
    expect(h?.settings.ssh.user).toBe('ops');
  });
});
