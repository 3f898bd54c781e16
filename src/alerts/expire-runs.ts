import { describeError } from '../errors.js';
import { runTag } from './silences.js';
import type { AlertmanagerApi } from './types.js';

/**
 * `rollout recover`: expires the silences that dead runs left (found by their createdBy tag).
 * They would lapse within their ttl anyway; recover makes the hosts page again now.
 */
export async function expireRunSilences(
  api: AlertmanagerApi,
  runIds: readonly string[],
): Promise<{ readonly expired: readonly string[]; readonly warning?: string }> {
  try {
    const tags = runIds.map(runTag);
    const found = (await api.list()).filter(
      (s) => s.state !== 'expired' && tags.some((tag) => s.createdBy.endsWith(tag)),
    );
    for (const s of found) await api.expire(s.id);
    return { expired: found.map((s) => s.id) };
  } catch (error) {
    return {
      expired: [],
      warning: `could not expire the dead runs' alert silences (${describeError(error)}): they lapse by themselves within alerts.alertmanager.ttl`,
    };
  }
}
