import { readSettingFile } from './settings-file.js';
import { Etcd3, isRecoverableError } from 'etcd3';
import type { ICompare, IKeyValue, IOptions, Lease as EtcdLease } from 'etcd3';
import { RolloutError } from '../errors.js';
import type { EtcdSettings } from '../inventory/types.js';
import type { Kv, KvEntry, Lease, PutOptions, TxnCondition, Watch, WatchHandlers } from './kv.js';
import {
  conflictError,
  isElectionError,
  isLeaseNotFound,
  leaseGoneError,
  txnConflictError,
  unreachableError,
} from './kv-errors.js';
import { watchEtcd } from './etcd-watch.js';
import { plainTextPasswordWarning } from './plain-auth.js';

export interface ConnectEtcdOptions {
  /** Overrides settings.endpoints (the --etcd flag). */
  readonly endpoints?: readonly string[];
  /** Where passwordEnv is looked up; process.env unless told. */
  readonly env?: NodeJS.ProcessEnv;
  /** Told when the password would cross the network in clear (plain http://). */
  readonly onWarning?: (message: string) => void;
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** Tries each endpoint at most once: etcd3's default retries and breaker can stall a call for long. */
function tryEachHostOnce(hosts: number): Policy {
  const policy = {
    async execute<T>(fn: (context: { signal: AbortSignal; attempt: number }) => Promise<T> | T): Promise<T> {
      const signal = new AbortController().signal;
      for (let attempt = 0; ; attempt += 1) {
        try {
          return await fn({ signal, attempt });
        } catch (error) {
          if (attempt + 1 >= hosts || !isRecoverableError(error as Error)) throw error;
        }
      }
    },
  };
  // Why: etcd3 only calls execute(); the rest of cockatiel's IPolicy surface is unused.
  return policy as unknown as Policy;
}

function clientOptions(settings: EtcdSettings, hosts: string[], env: NodeJS.ProcessEnv): IOptions {
  const dialMs = settings.dialTimeoutSeconds * 1000;
  const options: IOptions = {
    hosts,
    dialTimeout: dialMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + dialMs }),
    faultHandling: { host: () => tryEachHostOnce(1), global: tryEachHostOnce(hosts.length) },
  };
  if (settings.ca !== undefined || settings.cert !== undefined) {
    options.credentials = {
      // Why: grpc's createSsl takes null as "the system roots", for an https endpoint with a public CA.
      rootCertificate:
        settings.ca === undefined ? (null as unknown as Buffer) : readSettingFile('etcd.ca', settings.ca),
      ...(settings.cert === undefined ? {} : { certChain: readSettingFile('etcd.cert', settings.cert) }),
      ...(settings.key === undefined ? {} : { privateKey: readSettingFile('etcd.key', settings.key) }),
    };
  }
  if (settings.username !== undefined) {
    const variable = settings.passwordEnv;
    if (variable === undefined) {
      throw new RolloutError(
        'E_INVENTORY',
        `etcd.username is ${settings.username} but etcd.passwordEnv is not set: name the environment variable that holds the password`,
        { where: 'etcd.passwordEnv' },
      );
    }
    const password = env[variable];
    if (password === undefined || password === '') {
      throw new RolloutError(
        'E_INVENTORY',
        `etcd.username is ${settings.username} but environment variable ${variable} is empty: export the etcd password in ${variable}`,
        { where: 'etcd.passwordEnv' },
      );
    }
    options.auth = { username: settings.username, password, callOptions: () => ({ deadline: Date.now() + dialMs }) };
  }
  return options;
}

function toEntry(kv: IKeyValue): KvEntry {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    lease: kv.lease === '0' || kv.lease === '' ? undefined : kv.lease,
  };
}

const ELECTION_RETRY_MS = 200;

/** Keys a list reads per request: a page of 1,000-host journal records stays far below gRPC's 4 MiB. */
const LIST_PAGE = 500;

/** The key just after every key that starts with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i -= 1) {
    if (end[i] !== 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function compares(condition: TxnCondition): ICompare[] {
  return [
    ...(condition.keys ?? []).map(({ key, modRevision }): ICompare => ({
      key: Buffer.from(key),
      target: 'Mod',
      result: 'Equal',
      mod_revision: modRevision,
    })),
    // Why: "every key of the range has mod_revision < since+1" is one compare however many keys the prefix holds.
    ...(condition.unchangedSince ?? []).map(({ prefix, revision }): ICompare => ({
      key: Buffer.from(prefix),
      range_end: prefixEnd(prefix),
      target: 'Mod',
      result: 'Less',
      mod_revision: revision + 1,
    })),
  ];
}

/** Connects to etcd and checks it answers; every call is bounded by dialTimeoutSeconds. */
export async function connectEtcd(settings: EtcdSettings, options: ConnectEtcdOptions = {}): Promise<Kv> {
  const hosts = [...(options.endpoints ?? settings.endpoints)];
  const where = hosts.join(', ');
  const warning = plainTextPasswordWarning(settings, hosts);
  if (warning !== undefined) options.onWarning?.(warning);
  const client = new Etcd3(clientOptions(settings, hosts, options.env ?? process.env));
  const dialMs = settings.dialTimeoutSeconds * 1000;

  /** Runs one etcd call with a hard deadline, mapping transport failures to E_ETCD_UNREACHABLE. */
  async function call<T>(fn: () => Promise<T>, key?: string, leaseId?: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    // Why: a safety net over gRPC deadlines: the auth exchange and reconnects are not all bounded by them.
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${settings.dialTimeoutSeconds}s`)),
        dialMs * hosts.length + 1000,
      );
    });
    try {
      return await Promise.race([fn(), limit]);
    } catch (error) {
      if (error instanceof RolloutError) throw error;
      if (key !== undefined && leaseId !== undefined && isLeaseNotFound(error)) throw leaseGoneError(key, leaseId);
      throw unreachableError(where, error, settings.username);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A read, retried while the cluster elects a leader ("leader changed", "no leader": every member
   * answers so for a second or two), within one dial timeout. Reads only: a write's outcome is
   * resolved by its caller (commit marker, read-back), never by sending it again.
   */
  async function read<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + dialMs;
    for (;;) {
      try {
        return await call(fn);
      } catch (error) {
        if (!isElectionError(error) || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, ELECTION_RETRY_MS));
      }
    }
  }

  async function current(key: string): Promise<number> {
    const found = await read(() => client.get(key).exec());
    const kv = found.kvs[0];
    return kv === undefined ? 0 : Number(kv.mod_revision);
  }

  /**
   * Every key under the prefix, in pages of LIST_PAGE keys, every page at the revision of the first:
   * one consistent read however large (a single response must stay under gRPC's 4 MiB).
   */
  async function pagedRange(prefix: string): Promise<{ entries: KvEntry[]; revision: number }> {
    const end = prefixEnd(prefix);
    const entries: KvEntry[] = [];
    let start: Buffer = Buffer.from(prefix);
    let revision: number | undefined;
    for (;;) {
      const from = start;
      const at = revision;
      const page = await read(() => {
        const query = client.getAll().inRange({ start: from, end }).sort('Key', 'Ascend').limit(LIST_PAGE);
        return (at === undefined ? query : query.revision(at)).exec();
      });
      revision ??= Number(page.header.revision);
      entries.push(...page.kvs.map(toEntry));
      const last = page.kvs.at(-1);
      if (!page.more || last === undefined) return { entries, revision };
      // Why: the next page starts just after the last key of this one.
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  const quietLeases = new Set<() => void>(); // Why: after close(), a lease ending is expected, not "lost".

  function wrapLease(lease: EtcdLease, id: string, ttlSeconds: number): Lease {
    const listeners: ((error: Error) => void)[] = [];
    let done = false;
    const quiet = (): void => {
      done = true;
      clearInterval(watchdog);
      quietLeases.delete(quiet);
    };
    quietLeases.add(quiet);
    // Why: a monotonic clock: a wall-clock step (NTP) must neither hide nor fake a lost lease.
    let lastOk = performance.now();
    const lose = (error: Error): void => {
      if (done) return;
      quiet();
      lease.release();
      for (const listener of listeners) listener(error);
    };
    lease.on('keepaliveSucceeded', () => (lastOk = performance.now()));
    lease.on('lost', (error: Error) => lose(error));
    // Why: etcd3 only reports a loss after 2×TTL. etcd expires the lease TTL after the last keepalive it
    // received, which is before the last answer we saw: after TTL/2 without an answer (keepalives go every
    // TTL/3), stop, while the lease is still certainly ours and another run cannot yet hold the locks.
    const lostAfterMs = (ttlSeconds * 1000) / 2;
    const watchdog = setInterval(() => {
      if (performance.now() - lastOk > lostAfterMs)
        lose(
          new Error(`no keepalive answer for lease ${id} in ${ttlSeconds / 2}s (half its TTL): treating it as lost`),
        );
    }, 250);
    watchdog.unref();
    return {
      id,
      ttlSeconds,
      async revoke() {
        quiet();
        // Why: revoking a lease etcd already expired is done, not a failure.
        await call(() => lease.revoke()).catch((error: unknown) => {
          if (!isLeaseNotFound((error as Error).cause)) throw error;
        });
      },
      onLost(listener) {
        listeners.push(listener);
      },
    };
  }

  const kv: Kv = {
    async get(key) {
      const found = await read(() => client.get(key).exec());
      const first = found.kvs[0];
      return first === undefined ? null : toEntry(first);
    },
    list: async (prefix) => (await pagedRange(prefix)).entries,
    range: (prefix) => pagedRange(prefix),
    async txn(condition, puts) {
      const success = puts.map(({ key, value }) => ({
        request_put: { key: Buffer.from(key), value: Buffer.from(value) },
      }));
      const result = await call(() => client.kv.txn({ compare: compares(condition), success, failure: [] }));
      if (!result.succeeded) throw txnConflictError(condition);
      return Number(result.header.revision);
    },
    async put(key, value, putOptions: PutOptions = {}) {
      const op = client.put(key).value(value);
      if (putOptions.lease !== undefined) op.lease(putOptions.lease.id);
      const expected = putOptions.expectModRevision;
      if (expected === undefined) {
        const result = await call(() => op.exec(), key, putOptions.lease?.id);
        return Number(result.header.revision);
      }
      const result = await call(
        () => client.if(key, 'Mod', '==', expected).then(op).else(client.get(key)).commit(),
        key,
        putOptions.lease?.id,
      );
      if (!result.succeeded) {
        const found = result.responses[0]?.response_range?.kvs[0];
        throw conflictError(key, expected, found === undefined ? 0 : Number(found.mod_revision));
      }
      return Number(result.header.revision);
    },
    async delete(key, deleteOptions = {}) {
      const expected = deleteOptions.expectModRevision;
      if (expected === undefined) {
        const result = await call(() => client.delete().key(key).exec());
        return Number(result.deleted) > 0;
      }
      const result = await call(() => client.if(key, 'Mod', '==', expected).then(client.delete().key(key)).commit());
      if (!result.succeeded) throw conflictError(key, expected, await current(key));
      return Number(result.responses[0]?.response_delete_range?.deleted ?? 0) > 0;
    },
    async deletePrefix(prefix) {
      const result = await call(() => client.delete().prefix(prefix).exec());
      return Number(result.deleted);
    },
    async grantLease(ttlSeconds) {
      const lease = client.lease(ttlSeconds);
      lease.on('lost', () => undefined); // Why: a grant failure also emits 'lost'; call() reports it.
      try {
        const id = await call(() => lease.grant());
        return wrapLease(lease, id, ttlSeconds);
      } catch (error) {
        lease.release();
        throw error;
      }
    },
    async watch(prefix, fromRevision, handlers: WatchHandlers): Promise<Watch> {
      return call(() => watchEtcd(client, prefix, fromRevision, handlers, toEntry, dialMs));
    },
    async revision() {
      const found = await read(() => client.get('/rollout/v1/').exec());
      return Number(found.header.revision);
    },
    async close() {
      for (const quiet of [...quietLeases]) quiet();
      client.close();
    },
  };
  try {
    await kv.revision();
  } catch (error) {
    client.close();
    throw error;
  }
  return kv;
}
