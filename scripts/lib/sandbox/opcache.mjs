// Opcache figures and filling (for --if-opcache-above) and the release read through `current` (the
// realpath cache). Each host serves opcache_get_status() on
// /opcache-status, and /opcache-fill?percent=P compiles throw-away files until its opcache is that full.
import { httpGet } from './procs.mjs';
import { findHost } from './control.mjs';
import { resolveDir } from './state.mjs';

/** `GET /opcache-status`: opcache_get_status(false) as JSON, what php7adm's opcache-info gives. */
export function opcacheStatusPhp() {
  return `<?php
header('Content-Type: application/json');
echo json_encode(opcache_get_status(false)), "\\n";
`;
}

/** `GET /opcache-fill?percent=P`: include fresh files until (used + wasted) / total ≥ P%. */
export function opcacheFillPhp() {
  return `<?php
function sandbox_opcache_percent() {
  $m = opcache_get_status(false)['memory_usage'];
  return 100 * ($m['used_memory'] + $m['wasted_memory']) / ($m['used_memory'] + $m['free_memory'] + $m['wasted_memory']);
}
$target = isset($_GET['percent']) ? max(0, min(99, (float) $_GET['percent'])) : 90;
$dir = getenv('SANDBOX_HOST_DIR') . '/tmp/opcache-fill';
@mkdir($dir, 0755, true);
// Why: a literal array is kept whole in opcache's shared memory (~320 KB each), so a few hundred files fill it.
$body = '<?php return [' . implode(',', range(0, 20000)) . "];\n";
$files = 0;
while (sandbox_opcache_percent() < $target && $files < 5000) {
  $file = sprintf('%s/fill_%d_%d.php', $dir, getmypid(), hrtime(true));
  file_put_contents($file, $body);
  // Why: opcache does not cache a file younger than opcache.file_update_protection (2 s).
  touch($file, time() - 60);
  include $file;
  unlink($file);
  $files += 1;
}
header('Content-Type: application/json');
echo json_encode(['files' => $files, 'percent' => round(sandbox_opcache_percent(), 1)]), "\\n";
`;
}

/** `releases/<id>/release.php`: the release as code, so reading it goes through PHP's realpath cache and opcache. */
export const releasePhp = (id) => `<?php return '${id}';\n`;

/**
 * `GET /release-file`: includes `current/release.php` through the symlink, like an app's front
 * controller under a symlink-swap deploy. A worker whose realpath cache still resolves `current`
 * to the old release serves the old code: what a --release check must catch. ?sleep=ms holds the worker.
 */
export function releaseFilePhp() {
  return `<?php
$ms = isset($_GET['sleep']) ? max(0, min(5000, (int) $_GET['sleep'])) : 0;
usleep($ms * 1000);
$release = include getenv('SANDBOX_HOST_DIR') . '/current/release.php';
header('Content-Type: application/json');
echo json_encode(['release' => $release, 'workerPid' => getmypid(), 'masterPid' => posix_getppid()]), "\\n";
`;
}

/** Fills the opcache of one host's active master to `percent`; resolves the percentage reached. */
export async function fillOpcache(host, percent, options = {}) {
  const { host: h } = findHost(resolveDir(options.dir), host);
  const r = await httpGet(`http://${h.address}:8080/opcache-fill?percent=${percent}`, { timeoutMs: 60_000 });
  if (r.status !== 200)
    throw new Error(`sandbox: filling the opcache of ${h.name} failed: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  return { host: h.name, ...JSON.parse(r.body) };
}
