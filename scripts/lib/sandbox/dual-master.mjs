// `up --strategy dual-master`: two PHP-FPM masters per host (A: the host's usual one on :9000, B on
// :9001), nginx sending the public port to the active one only, each master also on its own port
// (A :8081, B :8082), and `bin/php-slot` to restart one master and switch nginx (docs/sandbox.md).
import fs from 'node:fs';
import path from 'node:path';

export const DUAL_MASTER = 'dual-master';
export const SLOTS = ['A', 'B'];
const FPM_PORTS = { A: 9000, B: 9001 };
export const SLOT_HTTP_PORTS = { A: 8081, B: 8082 };

const sq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

export const isDualMaster = (fleet) => fleet.strategy === DUAL_MASTER;

/** Master A keeps the host's usual files (so status, down and break-fpm know it); B has its own. */
export function slotPaths(hp) {
  return {
    A: { conf: hp.fpmConf, pid: hp.fpmPid, log: hp.fpmLog },
    B: {
      conf: path.join(hp.dir, 'php-fpm-b.conf'),
      pid: path.join(hp.dir, 'run', 'php-fpm-b.pid'),
      log: path.join(hp.dir, 'log', 'php-fpm-b.log'),
    },
    active: path.join(hp.dir, 'php-active.conf'),
    upstream: (slot) => path.join(hp.dir, `php-active-${slot}.conf`),
    script: path.join(hp.bin, 'php-slot'),
  };
}

/** The servers nginx listens on: the public port to the active master, then each master on its own port. */
export function dualServers(host, hp, publicPort) {
  return [
    { listen: publicPort, upstream: 'php_active' },
    ...SLOTS.map((slot) => ({ listen: SLOT_HTTP_PORTS[slot], upstream: `${host.address}:${FPM_PORTS[slot]}` })),
  ];
}

/** The `upstream php_active` block: its one server comes from the file the php-active.conf symlink names. */
export const dualUpstream = (hp) => `  upstream php_active { include ${slotPaths(hp).active}; }\n`;

/** Master B's config: master A's, on its own port, pid and log. */
export function slotBConfig(fpmConfigText, host, hp) {
  const b = slotPaths(hp).B;
  return fpmConfigText
    .replace(`listen = ${host.address}:${FPM_PORTS.A}`, `listen = ${host.address}:${FPM_PORTS.B}`)
    .replace(`pid = ${hp.fpmPid}`, `pid = ${b.pid}`)
    .replace(`error_log = ${hp.fpmLog}`, `error_log = ${b.log}`)
    .replace('[app]', '[app-b]');
}

/** `php-slot active|dormant|start|stop|restart|kill-restart|status <slot>|switch <slot>`, over the systemctl shim. */
export function phpSlotScript(host, hp) {
  const s = slotPaths(hp);
  return `#!/bin/bash
# php-slot of sandbox host ${host.name}: the two PHP-FPM masters (A and B) and nginx's switch between them.
#   php-slot active|dormant            prints the slot nginx sends the public port to, or the other one
#   php-slot restart|kill-restart|start|stop|status <A|B>   one master, through the systemctl shim
#   php-slot switch <A|B>              point nginx at that master (graceful reload: in-flight requests finish)
set -u
DIR=${sq(hp.dir)}
active() { readlink ${sq(s.active)} | sed -n 's/^php-active-\\([AB]\\)\\.conf$/\\1/p'; }
slot_env() {
  case "\${1:-}" in
    A) export SANDBOX_FPM_CONF=${sq(s.A.conf)} SANDBOX_FPM_PID=${sq(s.A.pid)} SANDBOX_FPM_LOG=${sq(s.A.log)} SANDBOX_PING_PORT=${SLOT_HTTP_PORTS.A};;
    B) export SANDBOX_FPM_CONF=${sq(s.B.conf)} SANDBOX_FPM_PID=${sq(s.B.pid)} SANDBOX_FPM_LOG=${sq(s.B.log)} SANDBOX_PING_PORT=${SLOT_HTTP_PORTS.B};;
    *) echo "php-slot: expected slot A or B, got '\${1:-}'" >&2; exit 2;;
  esac
}
case "\${1:-}" in
  active) active;;
  dormant) if [ "$(active)" = A ]; then echo B; else echo A; fi;;
  start|stop|restart|kill-restart|status|is-active) slot_env "\${2:-}"; exec ${sq(hp.systemctl)} "$1" php8.2-fpm;;
  switch)
    slot_env "\${2:-}"
    ln -sfn "php-active-$2.conf" "$DIR/php-active.conf.tmp.$$" && mv -Tf "$DIR/php-active.conf.tmp.$$" ${sq(s.active)} || exit 1
    /usr/sbin/nginx -q -t -p "$DIR/" -c ${sq(hp.nginxConf)} -e ${sq(hp.nginxLog)} || exit 1
    old=$(ps -o pid= --ppid "$(cat ${sq(hp.nginxPid)})" 2>/dev/null)
    /usr/sbin/nginx -p "$DIR/" -c ${sq(hp.nginxConf)} -e ${sq(hp.nginxLog)} -s reload || exit 1
    # Why: the reload returns at once; until the old workers shut down they still accept, on the old master.
    n=50
    while [ "$n" -gt 0 ]; do
      busy=0
      for p in $old; do
        case "$(tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" in *"shutting down"*) ;; *"nginx: worker process"*) busy=1;; esac
      done
      [ "$busy" = 0 ] && break
      n=$((n - 1)); sleep 0.1
    done
    echo "${host.name}: nginx now sends to master $2";;
  *) echo "usage: php-slot active|dormant | start|stop|restart|kill-restart|status <A|B> | switch <A|B>" >&2; exit 2;;
esac
`;
}

/** Master B's config, the two upstream files, the switch (A at first) and php-slot. */
export function writeDualMasterFiles(host, hp, fpmConfigText, write) {
  const s = slotPaths(hp);
  write(s.B.conf, slotBConfig(fpmConfigText, host, hp));
  for (const slot of SLOTS) write(s.upstream(slot), `server ${host.address}:${FPM_PORTS[slot]};\n`);
  if (!fs.existsSync(s.active)) fs.symlinkSync(path.basename(s.upstream('A')), s.active);
  write(s.script, phpSlotScript(host, hp), 0o755);
}

/** The `restart:` line of the inventory's defaults for a dual-master fleet. */
export function dualRestartLine() {
  const url = (suffix) =>
    `{ ${SLOTS.map((slot) => `${slot}: "http://{address}:${SLOT_HTTP_PORTS[slot]}${suffix}"`).join(', ')} }`;
  return (
    `  restart: { strategy: dual-master, command: "systemctl restart php8.2-fpm", emergencyCommand: "systemctl kill-restart php8.2-fpm", timeout: 30, ` +
    'dualMaster: { dormantCommand: "php-slot dormant", restartCommand: "php-slot restart {slot}", emergencyRestartCommand: "php-slot kill-restart {slot}", ' +
    `switchCommand: "php-slot switch {slot}", statusUrl: ${url('/fpm-status?json&full')}, healthUrl: ${url('/')}, idleTimeout: 20 } }`
  );
}

/** The second master, for `down`/`status` (the first is the host's usual php-fpm). */
export function slotComponents(name, hp, host, exe) {
  const b = slotPaths(hp).B;
  if (!fs.existsSync(b.conf)) return [];
  return [
    {
      component: 'php-fpm B',
      host: name,
      pidFile: b.pid,
      match: b.conf,
      exe,
      address: host ? `${host.address}:${FPM_PORTS.B}` : '',
    },
  ];
}
