// Config files of the real programs (sshd, PHP-FPM, nginx, HAProxy) and the PHP app, as strings.
import { backendName, hostPaths, HTTP_PORT, FPM_PORT } from './layout.mjs';

export function sshdConfig(host, hp) {
  return `# sshd of sandbox host ${host.name}
Port ${host.sshPort}
ListenAddress ${host.address}
HostKey ${hp.hostKey}
PidFile ${hp.sshdPid}
AuthorizedKeysFile ${hp.authorizedKeys}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
# Why: the state dir may sit under a world-writable /tmp, which StrictModes would refuse.
StrictModes no
UsePAM no
UseDNS no
PermitUserEnvironment no
X11Forwarding no
AllowAgentForwarding no
AllowTcpForwarding no
PrintMotd no
PrintLastLog no
AcceptEnv none
# Why: sshd starts every command through the account's shell, and bash reads ~/.bashrc for a command
# from sshd unless SHLVL is already set; the operator's rc files (pyenv: 0.6 s here) must not be in
# what the sandbox measures. bash, seeing SHLVL=1, runs no rc file; nothing in the home dir is touched.
SetEnv SHLVL=1
MaxStartups 200:30:400
MaxSessions 64
LogLevel INFO
`;
}

/** The client key may only run commands through the host's session wrapper (it puts bin/ first on PATH). */
export function authorizedKeys(hp, publicKey) {
  return `command="${hp.session}",no-port-forwarding,no-agent-forwarding,no-X11-forwarding ${publicKey.trim()}\n`;
}

export function fpmConfig(host, hp) {
  return `; PHP-FPM of sandbox host ${host.name}
[global]
pid = ${hp.fpmPid}
error_log = ${hp.fpmLog}
log_level = notice
; Why: SIGQUIT (graceful stop) lets workers finish their request for up to this long.
process_control_timeout = 10s
daemonize = yes

[app]
user = root
group = root
listen = ${host.address}:${FPM_PORT}
listen.backlog = 511
pm = static
pm.max_children = 4
pm.status_path = /fpm-status
ping.path = /fpm-ping
ping.response = pong
request_terminate_timeout = 60s
catch_workers_output = yes
clear_env = yes
; Why: the release is fixed when the master starts, like opcache pinning deployed code until a restart.
env[SANDBOX_RELEASE] = $SANDBOX_RELEASE
env[SANDBOX_HOST] = ${host.name}
env[SANDBOX_DC] = ${host.dc}
env[SANDBOX_CLUSTER] = ${host.cluster}
env[SANDBOX_HOST_DIR] = ${hp.dir}
php_admin_value[error_log] = ${hp.dir}/log/php-errors.log
php_admin_flag[log_errors] = on
`;
}

/** A deliberately invalid config (scripts/sandbox break-fpm): the next start of PHP-FPM fails. */
export function brokenFpmConfig(host, hp) {
  return `${fpmConfig(host, hp)}\n; broken on purpose by scripts/sandbox break-fpm\npm = sandbox-broken\n`;
}

export function fastcgiParams() {
  const params = [
    'QUERY_STRING $query_string',
    'REQUEST_METHOD $request_method',
    'CONTENT_TYPE $content_type',
    'CONTENT_LENGTH $content_length',
    'REQUEST_URI $request_uri',
    'DOCUMENT_URI $document_uri',
    'SERVER_PROTOCOL $server_protocol',
    'GATEWAY_INTERFACE CGI/1.1',
    'REMOTE_ADDR $remote_addr',
    'REMOTE_PORT $remote_port',
    'SERVER_ADDR $server_addr',
    'SERVER_PORT $server_port',
    'SERVER_NAME $server_name',
  ];
  return params.map((p) => `fastcgi_param ${p};`).join('\n') + '\n';
}

/**
 * One server on the host's HTTP port to its PHP-FPM; a dual-master host (dual-master.mjs) passes
 * its own `servers` (public port to the active master, one port per master) and their upstream.
 */
export function nginxConfig(
  host,
  hp,
  { servers = [{ listen: HTTP_PORT, upstream: `${host.address}:${FPM_PORT}` }], upstreams = '' } = {},
) {
  const loc = (upstream, match, script) => `    location ${match} {
      fastcgi_pass ${upstream};
      include ${hp.fastcgiParams};
      fastcgi_param SCRIPT_NAME ${script};
      fastcgi_param SCRIPT_FILENAME ${script.startsWith('/fpm') ? script : `${hp.app}${script}`};
    }`;
  const server = ({ listen, upstream }) => `  server {
    listen ${host.address}:${listen};
    server_name ${host.name};
${loc(upstream, '= /fpm-ping', '/fpm-ping')}
${loc(upstream, '= /fpm-status', '/fpm-status')}
${loc(upstream, '= /opcache-status', '/opcache-status.php')}
${loc(upstream, '= /opcache-fill', '/opcache-fill.php')}
${loc(upstream, '= /release-file', '/release-file.php')}
${loc(upstream, '/', '/index.php')}
  }`;
  return `# nginx of sandbox host ${host.name}: passes everything to this host's PHP-FPM
worker_processes 1;
daemon off;
user root root;
pid ${hp.nginxPid};
error_log ${hp.nginxLog} notice;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${hp.tmp}/client_body;
  proxy_temp_path ${hp.tmp}/proxy;
  fastcgi_temp_path ${hp.tmp}/fastcgi;
  uwsgi_temp_path ${hp.tmp}/uwsgi;
  scgi_temp_path ${hp.tmp}/scgi;
  keepalive_timeout 30s;
  fastcgi_connect_timeout 2s;
  fastcgi_read_timeout 60s;
${upstreams}${servers.map(server).join('\n')}
}
`;
}

/** The app: JSON with host, master pid and the release the master loaded; ?sleep=ms (default 10). */
export function appPhp() {
  return `<?php
$ms = isset($_GET['sleep']) ? max(0, min(30000, (int) $_GET['sleep'])) : 10;
// Why: a loop, because SIGQUIT (graceful stop) interrupts usleep and would cut the request short.
$end = hrtime(true) + $ms * 1000000;
while (($left = $end - hrtime(true)) > 0) { usleep((int) min($left / 1000, 100000)); }
$release = getenv('SANDBOX_RELEASE') ?: 'unknown';
if (is_file(__DIR__ . '/bad-release.php')) require __DIR__ . '/bad-release.php'; // bad-N: HTTP 500 to N% of requests (bad-release.mjs)
$deployed = @file_get_contents(getenv('SANDBOX_HOST_DIR') . '/current/RELEASE');
header('Content-Type: application/json');
header('X-Release: ' . $release);
header('X-Sandbox-Host: ' . getenv('SANDBOX_HOST'));
echo json_encode([
  'host' => getenv('SANDBOX_HOST'),
  'dc' => getenv('SANDBOX_DC'),
  'cluster' => getenv('SANDBOX_CLUSTER'),
  'release' => $release,
  'deployed' => $deployed === false ? null : trim($deployed),
  'masterPid' => posix_getppid(),
  'workerPid' => getmypid(),
  'sleptMs' => $ms,
]), "\\n";
`;
}

/**
 * One frontend on <net>.2:8080. A request goes to backend <dc>_<cluster> when its Host header
 * is `<cluster>.<dc>` or its path starts with `/<dc>/<cluster>/`; anything else goes to the first one.
 */
export function haproxyConfig(fleet, P, frontend) {
  const pairs = fleet.dcs.flatMap((dc) => fleet.clusters.map((cluster) => ({ dc, cluster })));
  const routes = pairs.map(
    ({ dc, cluster }) =>
      `  use_backend ${backendName(dc, cluster)} if { var(txn.vhost) -m str ${cluster}.${dc} } || { path_beg /${dc}/${cluster}/ }`,
  );
  const backends = pairs.map(({ dc, cluster }) => {
    const servers = fleet.hosts
      .filter((h) => h.dc === dc && h.cluster === cluster)
      .map((h) => `  server ${h.name} ${h.address}:${HTTP_PORT} weight 10 check`);
    return `backend ${backendName(dc, cluster)}
  balance roundrobin
  option httpchk GET /fpm-ping
  http-check expect status 200
${servers.join('\n')}
`;
  });
  return `# HAProxy of the sandbox (written by scripts/sandbox up)
global
  log stderr format short local0 notice
  stats socket ${P.haproxySock} mode 600 level admin expose-fd listeners
  stats timeout 30s
  maxconn 4096

defaults
  mode http
  log global
  option dontlognull
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout queue 10s
  timeout check 2s
  timeout http-request 10s
  timeout http-keep-alive 10s
  option redispatch
  retries 3
  retry-on conn-failure empty-response 503
  default-server inter 1s fastinter 500ms rise 2 fall 2 weight 10

frontend sandbox
  bind ${frontend.address}:${frontend.port}
  http-request set-var(txn.vhost) req.hdr(host),field(1,:),lower
${routes.join('\n')}
  default_backend ${backendName(pairs[0].dc, pairs[0].cluster)}

${backends.join('\n')}`;
}

/** ~/.ssh/config-style file: `ssh -F <state>/ssh/config mw1.eqiad.sandbox` just works. */
export function sshClientConfig(fleet, P) {
  return fleet.hosts
    .map(
      (h) => `Host ${h.name}
  HostName ${h.address}
  Port ${h.sshPort}
  User root
  IdentityFile ${P.clientKey}
  IdentitiesOnly yes
  UserKnownHostsFile ${P.knownHosts}
  StrictHostKeyChecking yes
  BatchMode yes
  HostKeyAlias ${h.name}
`,
    )
    .join('\n');
}

export { hostPaths };
