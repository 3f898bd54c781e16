import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { KvEntry, Watch, WatchHandlers } from './kv.js';

/**
 * One etcd watch as the Kv port wants it: events after fromRevision in order, and a single onResync
 * (after which the watch is over) on compaction, cancellation or a lost stream. etcd3 would silently
 * reconnect; rollout prefers an explicit resync so the caller re-lists from a known revision.
 */
export async function watchEtcd(
  client: Etcd3,
  prefix: string,
  fromRevision: number,
  handlers: WatchHandlers,
  toEntry: (kv: IKeyValue) => KvEntry,
  timeoutMs: number,
): Promise<Watch> {
  let over = false;
  let seen = fromRevision; // Why: etcd3's own lastRevision() jumps to the header revision on connect.
  let watcher: Watcher | undefined;
  const builder = client
    .watch()
    .prefix(prefix)
    .startRevision(String(fromRevision + 1));
  const pending = builder.watcher();

  const end = (reason: string): void => {
    if (over) return;
    over = true;
    void pending.cancel().catch(() => undefined);
    handlers.onResync(reason);
  };
  pending.on('put', (kv: IKeyValue) => {
    seen = Number(kv.mod_revision);
    if (!over) handlers.onEvent({ type: 'put', entry: toEntry(kv) });
  });
  pending.on('delete', (kv: IKeyValue) => {
    seen = Number(kv.mod_revision);
    if (!over) handlers.onEvent({ type: 'delete', key: kv.key.toString(), modRevision: seen });
  });
  pending.on('data', (res: { compact_revision?: string }) => {
    if (res.compact_revision !== undefined && res.compact_revision !== '0')
      end(`history compacted up to revision ${res.compact_revision}`);
  });

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`watch on ${prefix} not established within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    pending.once('connected', () => {
      clearTimeout(timer);
      watcher = pending;
      resolve();
    });
    pending.once('error', (error: Error) => {
      clearTimeout(timer);
      // Why: a watch created from a compacted revision is refused at creation; that is a resync, not a failure.
      if (/compact/i.test(error.message)) {
        resolve();
        queueMicrotask(() => end(`revision ${fromRevision + 1} has been compacted (${error.message})`));
      } else reject(error);
    });
  });
  try {
    await ready;
  } catch (error) {
    over = true;
    void pending.cancel().catch(() => undefined);
    throw error;
  }
  pending.on('error', (error: Error) => void explainCancel(client, seen + 1, error).then(end));
  pending.on('disconnected', (error: Error) => end(`watch stream lost (${error.message})`));
  return {
    close: async () => {
      over = true;
      await (watcher ?? pending).cancel().catch(() => undefined);
    },
  };
}

/** etcd cancels a watch on compacted history without saying so to etcd3: find out with a read at that revision. */
async function explainCancel(client: Etcd3, start: number, error: Error): Promise<string> {
  try {
    await client.get('/').revision(start).exec();
  } catch (probe) {
    if (/compacted/i.test((probe as Error).message))
      return `revision ${start} has been compacted (${(probe as Error).message})`;
  }
  return `watch cancelled by etcd (${error.message})`;
}
