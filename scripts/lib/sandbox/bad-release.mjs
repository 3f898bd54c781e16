// The sandbox's bad release: a release id `bad-N` makes the host answer HTTP 500 to N% of its
// requests, what a canary gate must catch and a single-probe health check lets through.

/** app/bad-release.php, required by the app (templates.mjs appPhp) once $release is known. */
export function badReleasePhp() {
  return `<?php
if (preg_match('/^bad-(\\\\d{1,3})$/', $release, $bad) && mt_rand(1, 100) <= (int) $bad[1]) {
  http_response_code(500);
  header('Content-Type: application/json');
  header('X-Release: ' . $release);
  echo json_encode(['error' => 'sandbox release ' . $release . ' fails ' . $bad[1] . '% of requests', 'release' => $release]), "\\n";
  exit;
}
`;
}
