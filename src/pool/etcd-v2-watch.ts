import { describeError } from '../errors.js';
import { readTree, v2Failure } from '../kv/etcd-v2-answers.js';
import { V2_INDEX_CLEARED, type V2Client, type V2Node } from '../kv/etcd-v2-client.js';
import type { Kv, KvEntry, Watch, WatchEvent, WatchHandlers } from '../kv/kv.js';

/** What the LB agent reads of the pool keys: a list, its revision and a watch from there. */
export type PoolFeed = Pick<Kv, 'revision' | 'list' | 'watch'>;

const PUTS = new Set(['set', 'create', 'update', 'compareAndSwap']);
const DELETES = new Set(['delete', 'compareAndDelete', 'expire']);

function toEntry(node: V2Node): KvEntry {
  return {
    key: node.key,
    value: node.value ?? '',
    modRevision: node.modifiedIndex,
    createRevision: node.createdIndex,
    lease: undefined,
  };
}

/** `/a/b/` → `/a/b`: v2 names a directory without the trailing slash. */
const dirOf = (prefix: string): string => prefix.replace(/\/+$/, '');

/**
 * Conftool's pool keys as PyBal follows them: one recursive GET, then long-polls with
 * `wait=true&recursive=true&waitIndex=`. Error 401 (the index was cleared from etcd's 1,000-event
 * history) and any failure hand over to onResync, so the agent lists again.
 */
export function createV2PoolFeed(client: V2Client): PoolFeed {
  return {
    revision: async () => (await client.get('/')).index,
    list: async (prefix) =>
      [...(await readTree(client, dirOf(prefix))).nodes.values()]
        .map(toEntry)
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    watch: (prefix, fromRevision, handlers) =>
      Promise.resolve(follow(client, dirOf(prefix), fromRevision + 1, handlers)),
  };
}

function follow(client: V2Client, dir: string, firstIndex: number, handlers: WatchHandlers): Watch {
  const stop = new AbortController();
  const done = (async () => {
    let waitIndex = firstIndex;
    while (!stop.signal.aborted) {
      try {
        const answer = await client.wait(dir, waitIndex, stop.signal);
        if (answer.body.errorCode === V2_INDEX_CLEARED)
          return handlers.onResync(`v2 event index ${waitIndex} was cleared (${answer.body.cause ?? 'outdated'})`);
        if (answer.status !== 200) return handlers.onResync(v2Failure(dir, answer).message);
        const { action, node } = answer.body;
        if (node === undefined) continue;
        waitIndex = node.modifiedIndex + 1;
        // Why: a whole directory set or deleted at once is not one host's event: list again.
        if (node.dir) return handlers.onResync(`v2 directory ${node.key} was ${action ?? 'changed'}`);
        const event: WatchEvent | undefined = PUTS.has(action ?? '')
          ? { type: 'put', entry: toEntry(node) }
          : DELETES.has(action ?? '')
            ? { type: 'delete', key: node.key, modRevision: node.modifiedIndex }
            : undefined;
        if (event !== undefined) handlers.onEvent(event);
      } catch (error) {
        if (stop.signal.aborted) return;
        return handlers.onResync(`v2 watch on ${dir} failed: ${describeError(error)}`);
      }
    }
  })();
  return {
    close: async () => {
      stop.abort();
      await done;
    },
  };
}
