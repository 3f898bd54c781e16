import { describe, expect, it } from 'vitest';
import { parseServersState } from '../../../src/lb/haproxy.js';

const header =
  '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port';

describe('parseServersState', () => {
  it('reads admin state from the forced flags and the user weight (HAProxy 2.6 output)', () => {
    const reply = [
      '1',
      header,
      '3 eqiad_appserver 1 mw1.eqiad.sandbox 127.0.0.1 2 8 5 10 0 1 0 2 0 0 0 0 - 18998 - 0 0 - - 0',
      '3 eqiad_appserver 2 mw2.eqiad.sandbox 127.0.0.1 0 1 10 10 0 1 0 0 0 0 0 0 - 18997 - 0 0 - - 0',
      '3 eqiad_appserver 3 mw3.eqiad.sandbox 127.0.0.1 2 0 10 10 0 1 0 0 0 0 0 0 - 18996 - 0 0 - - 0',
      '',
      '',
    ].join('\n');
    expect(parseServersState(reply, '/s.sock', 'eqiad_appserver').map((s) => [s.server, s.admin, s.weight])).toEqual([
      ['mw1.eqiad.sandbox', 'drain', 5],
      ['mw2.eqiad.sandbox', 'maint', 10],
      ['mw3.eqiad.sandbox', 'ready', 10],
    ]);
  });

  it("turns HAProxy's refusal into E_HAPROXY naming the socket, the backend and the reply", () => {
    expect(() => parseServersState("Can't find backend.\n\n", '/s.sock', 'nope')).toThrow(
      /HAProxy \/s\.sock: show servers state for nope failed: Can't find backend\./,
    );
  });
});
