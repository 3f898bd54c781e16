import { RolloutError } from '../errors.js';
import {
  leaves,
  V2_COMPARE_FAILED,
  V2_KEY_NOT_FOUND,
  V2_NODE_EXISTS,
  type V2Answer,
  type V2Client,
  type V2Node,
} from './etcd-v2-client.js';

/** An answer etcd gave that is neither the value nor a lost compare. */
export function v2Failure(key: string, answer: V2Answer): RolloutError {
  const { errorCode, message, cause } = answer.body;
  return new RolloutError(
    'E_ETCD_UNREACHABLE',
    `etcd v2 refused ${key}: HTTP ${answer.status}, error ${errorCode ?? '?'} ${message ?? ''}${cause ? ` (${cause})` : ''}`.trim(),
    { key },
  );
}

/** A compare etcd v2 refused (prevIndex moved, or the key exists on a create). */
export function isV2Refusal(answer: V2Answer): boolean {
  return (
    answer.status === 412 || answer.body.errorCode === V2_COMPARE_FAILED || answer.body.errorCode === V2_NODE_EXISTS
  );
}

export function v2ConflictError(key: string, answer: V2Answer): RolloutError {
  const why =
    answer.body.errorCode === V2_NODE_EXISTS
      ? 'it was created meanwhile'
      : `its modifiedIndex moved: ${answer.body.cause ?? 'compare failed'}`;
  return new RolloutError(
    'E_POOL_CONFLICT',
    `pool key ${key} changed since it was read (${why}): someone else wrote it; re-run to use the new value`,
    { key },
  );
}

/** One recursive quorum GET of a directory: its value nodes by key, and the etcd index it was read at. */
export async function readTree(
  client: V2Client,
  dir: string,
): Promise<{ readonly index: number; readonly nodes: ReadonlyMap<string, V2Node> }> {
  const answer = await client.get(dir, { recursive: true });
  if (answer.status === 404 && answer.body.errorCode === V2_KEY_NOT_FOUND)
    return { index: answer.index, nodes: new Map() };
  if (answer.status !== 200) throw v2Failure(dir, answer);
  return { index: answer.index, nodes: new Map(leaves(answer.body.node).map((node) => [node.key, node])) };
}

export function fenceMovedError(key: string): RolloutError {
  return new RolloutError(
    'E_POOL_CONFLICT',
    `lock key ${key} changed since the run took it, so nothing more was written`,
    { key },
  );
}
