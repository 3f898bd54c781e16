import { describe, expect, it } from 'vitest';
import { check, cluster, FILE, lineOf, onlyError } from './helpers.js';

const withTop = (top: string[]): string => [...top, cluster([])].join('\n');

describe('the alerts, notify and metrics sections', () => {
  it('reads alerts with its defaults: required, the instance matcher, a 10 minute ttl', () => {
    const r = check(withTop(['alerts:', '  alertmanager:', '    urls: [http://127.0.0.1:9093]']));
    expect(r.errors).toEqual([]);
    expect(r.inventory?.alerts).toEqual({
      required: true,
      alertmanager: {
        urls: ['http://127.0.0.1:9093'],
        matchers: ['instance=~"{host}(:[0-9]+)?"'],
        ttlSeconds: 600,
        comment: 'rollout {runId} by {user}: {reason} ({host}, {cluster}@{dc})',
        ca: undefined,
        bearerTokenEnv: undefined,
        timeoutSeconds: 10,
      },
    });
  });

  it('reads durations like 90s, 15m and 1h30m', () => {
    const r = check(withTop(['alerts:', '  alertmanager:', '    urls: [http://am:9093]', '    ttl: 1h30m']));
    expect(r.inventory?.alerts?.alertmanager.ttlSeconds).toBe(5400);
  });

  it('rejects a matcher that is not one, with its file:line', () => {
    const text = withTop([
      'alerts:',
      '  alertmanager:',
      '    urls: [http://am:9093]',
      '    matchers:',
      '      - \'instance=~"{host}"\'',
      '      - "instance {host}"',
    ]);
    expect(onlyError(check(text))).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, 'instance {host}')}:\\d+: alerts.alertmanager.matchers\\[1\\]: expected a matcher like`,
      ),
    );
  });

  it('rejects an unknown placeholder in a matcher and a ttl without a unit it knows', () => {
    const text = withTop([
      'alerts:',
      '  alertmanager:',
      '    urls: [http://am:9093]',
      '    matchers: [\'instance="{hostname}"\']',
      '    ttl: ten minutes',
    ]);
    const r = check(text);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toContain('unknown placeholder {hostname}');
    expect(r.errors[1]).toMatch(
      new RegExp(`^${FILE}:${lineOf(text, 'ttl:')}:\\d+: alerts.alertmanager.ttl: expected a duration`),
    );
  });

  it('reads notify sinks, webhook and command, with their events, timeout and retries', () => {
    const r = check(
      withTop([
        'notify:',
        '  - webhook: https://chat.example.org/hooks/x',
        '    text: true',
        '    headers: { Authorization: CHAT_TOKEN }',
        '    events: [run.started, run.failed, run.paused]',
        '  - command: /usr/local/bin/dologmsg',
        '    timeout: 5s',
        '    retries: 0',
      ]),
    );
    expect(r.errors).toEqual([]);
    expect(r.inventory?.notify).toEqual([
      {
        kind: 'webhook',
        name: 'notify[0]',
        url: 'https://chat.example.org/hooks/x',
        text: true,
        headersEnv: { Authorization: 'CHAT_TOKEN' },
        ca: undefined,
        events: ['run.started', 'run.failed', 'run.paused'],
        timeoutSeconds: 10,
        retries: 2,
      },
      {
        kind: 'command',
        name: 'notify[1]',
        command: '/usr/local/bin/dologmsg',
        events: ['run.started', 'run.finished', 'run.failed'],
        timeoutSeconds: 5,
        retries: 0,
      },
    ]);
  });

  it('rejects an unknown notify event and a sink that is both webhook and command', () => {
    const text = withTop([
      'notify:',
      '  - webhook: http://x:1/',
      '    events: [run.exploded]',
      '  - webhook: http://x:1/',
      '    command: echo',
    ]);
    const r = check(text);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toMatch(
      new RegExp(
        `^${FILE}:${lineOf(text, 'run.exploded')}:\\d+: notify\\[0\\].events: unknown event\\(s\\) run.exploded`,
      ),
    );
    expect(r.errors[1]).toContain('notify[1]: a sink is either webhook: URL or command: PROGRAM');
  });

  it('reads metrics and rejects a pushgateway that is not a URL', () => {
    expect(check(withTop(['metrics:', '  textfile: /var/lib/node_exporter']))?.inventory?.metrics).toEqual({
      textfile: '/var/lib/node_exporter',
      pushgateway: undefined,
      timeoutSeconds: 10,
    });
    const text = withTop(['metrics:', '  pushgateway: pushgw:9091']);
    expect(onlyError(check(text))).toMatch(
      new RegExp(`^${FILE}:${lineOf(text, 'pushgw')}:\\d+: metrics.pushgateway: expected an http`),
    );
  });
});
