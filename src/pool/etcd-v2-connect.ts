import type { EtcdSettings } from '../inventory/types.js';
import { readTree } from '../kv/etcd-v2-answers.js';
import { createV2Client } from '../kv/etcd-v2-client.js';
import { createV2PoolStore } from './etcd-v2-store.js';
import { createV2PoolFeed, type PoolFeed } from './etcd-v2-watch.js';
import type { Kv } from '../kv/kv.js';
import type { PoolStore } from './types.js';

/**
 * Pool keys on v2 beside rollout's own keys on `kv` (v3). Checks at once that etcd serves v2, so a
 * server without `--enable-v2=true` fails at connect with a message that says so.
 */
export async function connectV2Pool(
  kv: Kv,
  settings: EtcdSettings,
  options: {
    readonly endpoints?: readonly string[];
    readonly env?: NodeJS.ProcessEnv;
    readonly onWarning?: (message: string) => void;
  },
): Promise<{ kv: Kv; pool: PoolStore; feed: PoolFeed; close(): Promise<void> }> {
  try {
    const client = createV2Client(settings, options);
    try {
      await readTree(client, settings.prefix.replace(/\/+$/, ''));
    } catch (error) {
      client.close();
      throw error;
    }
    return {
      kv,
      pool: createV2PoolStore(kv, client, settings.prefix),
      feed: createV2PoolFeed(client),
      close: async () => {
        client.close();
        await kv.close();
      },
    };
  } catch (error) {
    await kv.close();
    throw error;
  }
}
