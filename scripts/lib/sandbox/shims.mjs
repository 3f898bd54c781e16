// Per-host shell scripts: the `systemctl` shim that restarts this host's PHP-FPM, the release
// switcher, and the SSH session wrapper that puts the host's bin/ first on PATH.
import { HTTP_PORT } from './layout.mjs';

const sq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

export function sessionWrapper(host, hp) {
  return `#!/bin/sh
# Forced command of the sandbox client key on ${host.name}: this host's bin/ first on PATH.
export PATH=${sq(hp.bin)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export SANDBOX_HOST=${sq(host.name)} SANDBOX_HOST_DIR=${sq(hp.dir)}
cd ${sq(hp.dir)} || exit 1
if [ -n "\${SSH_ORIGINAL_COMMAND:-}" ]; then exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"; fi
exec /bin/bash -i
`;
}

export function releaseScript(host, hp) {
  return `#!/bin/sh
# sandbox-release <id>: make <id> the deployed release of ${host.name} (served after the next PHP-FPM restart).
set -eu
id="\${1:-}"
case "$id" in ''|*[!A-Za-z0-9._-]*) echo "usage: sandbox-release <id>  (letters, digits, . _ -)" >&2; exit 2;; esac
dir=${sq(hp.dir)}
mkdir -p "$dir/releases/$id"
printf '%s\\n' "$id" > "$dir/releases/$id/RELEASE"
printf '<?php return %s;\\n' "'$id'" > "$dir/releases/$id/release.php"
ln -sfn "releases/$id" "$dir/current.tmp.$$"
mv -Tf "$dir/current.tmp.$$" "$dir/current"
echo "${host.name}: deployed release $id"
`;
}

export function systemctlShim(host, hp) {
  return `#!/bin/bash
# systemctl shim of sandbox host ${host.name}: manages only this host's PHP-FPM master.
#   systemctl start|stop|restart|kill-restart|status|is-active php8.2-fpm
# restart = graceful (SIGQUIT, wait until the master is gone, start); kill-restart = hard (SIGTERM, SIGKILL after 2 s).
set -u
NAME=${sq(host.name)}
ADDR=${sq(host.address)}
DIR=${sq(hp.dir)}
# Why: php-slot (dual-master hosts) points these at master B; unset, they name the host's one master.
CONF=\${SANDBOX_FPM_CONF:-${sq(hp.fpmConf)}}
PIDFILE=\${SANDBOX_FPM_PID:-${sq(hp.fpmPid)}}
LOG=\${SANDBOX_FPM_LOG:-${sq(hp.fpmLog)}}
PING_PORT=\${SANDBOX_PING_PORT:-${HTTP_PORT}}
GRACE=15   # process_control_timeout (10 s) + 5 s

# Alive = not a zombie and still our master (PID 1 may reap late, so kill -0 would lie).
alive() {
  local state
  state=$(sed -n 's/^State:[[:space:]]*\\(.\\).*/\\1/p' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] && tr '\\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$CONF"
}
master() { local pid; pid=$(cat "$PIDFILE" 2>/dev/null) && [ -n "$pid" ] && alive "$pid" && echo "$pid"; }
workers() { ps -o pid= --ppid "$1" 2>/dev/null; }
wait_gone() { # pid seconds
  local n=$(( $2 * 10 ))
  while [ "$n" -gt 0 ] && alive "$1"; do sleep 0.1; n=$((n - 1)); done
  ! alive "$1"
}
ping_ok() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$ADDR/$PING_PORT && printf 'GET /fpm-ping HTTP/1.0\\r\\nHost: $NAME\\r\\n\\r\\n' >&3 && head -n1 <&3" 2>/dev/null | grep -q ' 200 '
}

do_start() {
  if pid=$(master); then echo "$NAME: php8.2-fpm already running (pid $pid)"; return 0; fi
  rm -f "$PIDFILE"
  release=$(cat "$DIR/current/RELEASE" 2>/dev/null || echo unknown)
  if ! SANDBOX_RELEASE="$release" setsid /usr/sbin/php-fpm8.2 -R -y "$CONF" -p "$DIR" --pid "$PIDFILE" -D \\
      </dev/null >>"$DIR/log/php-fpm.out" 2>&1; then
    echo "$NAME: php8.2-fpm failed to start (see $DIR/log/php-fpm.out and $LOG):" >&2
    tail -n 3 "$DIR/log/php-fpm.out" >&2
    return 1
  fi
  local n=50
  until ping_ok; do
    n=$((n - 1))
    if [ "$n" -le 0 ]; then echo "$NAME: php8.2-fpm started but /fpm-ping via nginx did not answer 200 within 5 s" >&2; return 1; fi
    sleep 0.1
  done
  echo "$NAME: php8.2-fpm running (pid $(master), release $release)"
}

do_stop_graceful() {
  local pid; pid=$(master) || return 0
  kill -QUIT "$pid" 2>/dev/null
  if ! wait_gone "$pid" "$GRACE"; then
    echo "$NAME: php8.2-fpm master $pid still alive after \${GRACE}s; killing it" >&2
    do_stop_hard
  fi
}

# started <pid>: its start time (field 22 of /proc/<pid>/stat); with the pid, it names one process, never a reused pid.
started() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=\${s##*) }; set -- $s; echo "\${20}"; }

do_stop_hard() {
  local pid; pid=$(master) || return 0
  local procs="" p
  for p in "$pid" $(workers "$pid"); do procs="$procs $p:$(started "$p")"; done
  kill -TERM "$pid" 2>/dev/null
  wait_gone "$pid" 2 && return 0
  for p in $procs; do [ "$(started "\${p%%:*}")" = "\${p#*:}" ] && kill -KILL "\${p%%:*}" 2>/dev/null; done
  wait_gone "$pid" 2
  return 0
}

cmd="\${1:-}"; unit="\${2:-}"
case "$unit" in
  php8.2-fpm|php8.2-fpm.service|php-fpm|php-fpm.service) ;;
  *) echo "systemctl (sandbox shim on $NAME): unit '$unit' not found; only php8.2-fpm is managed here" >&2; exit 5;;
esac
case "$cmd" in
  start) do_start;;
  stop) do_stop_graceful;;
  restart) do_stop_graceful && do_start;;
  kill-restart|hard-restart) do_stop_hard && do_start;;
  is-active) if master >/dev/null; then echo active; else echo inactive; exit 3; fi;;
  status)
    if pid=$(master); then echo "$NAME: php8.2-fpm active (running) pid $pid; workers: $(workers "$pid" | tr -s ' \\n' ' ')"
    else echo "$NAME: php8.2-fpm inactive (dead)"; exit 3; fi;;
  *) echo "usage: systemctl start|stop|restart|kill-restart|status|is-active php8.2-fpm" >&2; exit 2;;
esac
`;
}
