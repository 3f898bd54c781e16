/**
 * PHP-FPM's status JSON (`pm.status_path` with `?json`, optionally `&full`). The request that
 * reads the status is itself served by a worker, so it is always counted as active.
 */
export interface FpmStatus {
  readonly 'active processes': number;
  readonly processes?: readonly { readonly state?: string; readonly 'request uri'?: string }[];
}

/** Parses the status JSON, or returns why it is not one. */
export function parseFpmStatus(text: string): FpmStatus | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `not JSON (starts with ${JSON.stringify(text.slice(0, 60))}); is "?json" in the status URL?`;
  }
  if (parsed === null || typeof parsed !== 'object') return 'not a JSON object';
  const active = (parsed as Record<string, unknown>)['active processes'];
  if (typeof active !== 'number') return 'no "active processes" field: is this PHP-FPM\'s status page?';
  return parsed as FpmStatus;
}

/**
 * Requests in flight other than status reads. With `&full`, every busy worker serving the
 * status path is left out (ours and any monitoring's); otherwise our own one is subtracted.
 */
export function activeRequests(status: FpmStatus, statusPath: string | undefined): number {
  if (status.processes !== undefined) {
    const busy = status.processes.filter((p) => p.state !== undefined && p.state !== 'Idle');
    const reads = busy.filter((p) => statusPath !== undefined && uriPath(p['request uri']) === statusPath).length;
    // Why: a proxy may rewrite the status path; then ours is the one busy worker we cannot name.
    return Math.max(0, busy.length - Math.max(1, reads));
  }
  return Math.max(0, status['active processes'] - 1);
}

function uriPath(uri: string | undefined): string | undefined {
  return uri?.split('?')[0];
}
