import { createFileCache, fileStamp } from './file-cache.js';
import { hostsFieldMatches, readKnownHosts } from './known-hosts.js';
import type { KnownHostEntry, KnownHostsLookup } from './known-hosts.js';

const isPlainName = (pattern: string): boolean => !/[*?!]/.test(pattern);

/**
 * A known_hosts file indexed by name: plain names in a map, and only the entries that need
 * matching (wildcards, negations, hashed names) scanned, as OpenSSH would; each name's answer is
 * kept, so a fleet of N hosts costs O(N) in all instead of O(N) per connection.
 */
export class KnownHostsIndex implements KnownHostsLookup {
  private readonly byName = new Map<string, KnownHostEntry[]>();
  private readonly scanned: KnownHostEntry[] = [];
  private readonly answers = new Map<string, readonly KnownHostEntry[]>();

  constructor(entries: readonly KnownHostEntry[]) {
    for (const entry of entries) {
      const patterns = entry.hosts.toLowerCase().split(',');
      if (entry.hosts.startsWith('|1|') || !patterns.every(isPlainName)) {
        this.scanned.push(entry);
        continue;
      }
      for (const name of new Set(patterns)) {
        const list = this.byName.get(name) ?? [];
        list.push(entry);
        this.byName.set(name, list);
      }
    }
  }

  matching(name: string): readonly KnownHostEntry[] {
    const lower = name.toLowerCase();
    const known = this.answers.get(lower);
    if (known !== undefined) return known;
    const found = [
      ...(this.byName.get(lower) ?? []),
      ...this.scanned.filter((e) => hostsFieldMatches(e.hosts, lower)),
    ].sort((a, b) => a.line - b.line);
    this.answers.set(lower, found);
    return found;
  }
}

/** The known_hosts files a transport reads, each parsed once and again only when it changes on disk. */
export interface KnownHostsFiles {
  load(file: string): Promise<KnownHostsIndex>;
}

export function createKnownHostsFiles(): KnownHostsFiles {
  const cache = createFileCache<KnownHostsIndex>();
  return {
    async load(file) {
      // Why: a key recorded by acceptNewHostKeys (or an operator's edit) changes the file, and must be seen.
      const stamp = await fileStamp(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return 'missing';
        throw error;
      });
      return cache.get(file, stamp, async () => new KnownHostsIndex(await readKnownHosts(file)));
    },
  };
}
