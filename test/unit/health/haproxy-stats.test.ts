import { describe, expect, it } from 'vitest';
import { isRolloutError } from '../../../src/errors.js';
import { delta, parseShowStat, readBackendCounts } from '../../../src/health/haproxy-stats.js';

// The first columns of HAProxy 2.6's `show stat` (and of the stats page's ;csv), as it prints them.
const HEADER =
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other';
const row = (px: string, sv: string, h2: number, h5: number): string =>
  `${px},${sv},0,0,0,1,,${h2 + h5},0,0,,0,,0,0,0,0,UP,10,1,0,0,0,5,0,,1,3,1,,${h2 + h5},,2,0,,3,L7OK,200,1,0,${h2},0,0,${h5},0`;
const CSV = [
  HEADER,
  row('eqiad_appserver', 'mw1', 80, 20),
  row('eqiad_appserver', 'mw2', 100, 0),
  row('eqiad_appserver', 'BACKEND', 180, 20),
  row('eqiad_api', 'BACKEND', 5, 5),
  '',
].join('\n');

describe('HAProxy show stat', () => {
  it('reads a backend row and its server rows: responses of every class, and the 5xx among them', () => {
    const counts = parseShowStat(CSV, 'eqiad_appserver', '/run/haproxy.sock');
    expect(counts.backend).toEqual({ responses: 200, errors5xx: 20 });
    expect(counts.servers.get('mw1')).toEqual({ responses: 100, errors5xx: 20 });
    expect([...counts.servers.keys()]).toEqual(['mw1', 'mw2']);
  });

  it('names a backend that is not there and an answer that is not CSV', () => {
    expect(() => parseShowStat(CSV, 'codfw_appserver', '/run/haproxy.sock')).toThrow(
      'HAProxy /run/haproxy.sock: no backend codfw_appserver in show stat (check canary.gate.haproxyStats.backend)',
    );
    expect(() => parseShowStat('Unknown command.\n', 'eqiad_appserver', '/s')).toThrow(/not CSV stats/);
  });

  it('counts a counter that went down (HAProxy reloaded) from zero', () => {
    expect(delta({ responses: 50, errors5xx: 1 }, { responses: 500, errors5xx: 3 })).toEqual({
      responses: 50,
      errors5xx: 1,
    });
    expect(delta({ responses: 600, errors5xx: 9 }, { responses: 500, errors5xx: 3 })).toEqual({
      responses: 100,
      errors5xx: 6,
    });
  });

  it('reads the stats page CSV over HTTP, and names the URL when it answers otherwise', async () => {
    const ok = (async () => new Response(CSV, { status: 200 })) as typeof fetch;
    expect(
      (await readBackendCounts({ url: 'http://lb1:8404/stats;csv' }, 'eqiad_appserver', 1000, ok)).backend.errors5xx,
    ).toBe(20);
    const denied = (async () => new Response('no', { status: 401 })) as typeof fetch;
    const error = await readBackendCounts({ url: 'http://lb1:8404/stats;csv' }, 'eqiad_appserver', 1000, denied).catch(
      (e: unknown) => e,
    );
    expect(isRolloutError(error, 'E_HAPROXY')).toBe(true);
    expect((error as Error).message).toBe('HAProxy stats http://lb1:8404/stats;csv: HTTP 401');
  });
});
