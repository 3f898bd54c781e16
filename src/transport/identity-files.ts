import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { ParsedKey } from 'ssh2';
import { createFileCache, fileStamp } from './file-cache.js';

const { utils } = ssh2;

/** A private key that could not be used: unreadable (`read`) or not a key, or the wrong passphrase (`parse`). */
export class IdentityError extends Error {
  constructor(
    readonly stage: 'read' | 'parse',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Private keys read and decrypted once per transport (again when the file changes), not once per connection. */
export interface IdentityFiles {
  load(file: string, passphrase: string | undefined): Promise<ParsedKey>;
}

export function createIdentityFiles(): IdentityFiles {
  const cache = createFileCache<ParsedKey>();
  return {
    async load(file, passphrase) {
      const stamp = await fileStamp(file).catch((cause: Error) => {
        throw new IdentityError('read', cause.message, { cause });
      });
      return cache.get(`${file}\0${passphrase ?? ''}`, stamp, async () => {
        const raw = await readFile(file).catch((cause: Error) => {
          throw new IdentityError('read', cause.message, { cause });
        });
        const parsed = utils.parseKey(raw, passphrase);
        if (parsed instanceof Error) throw new IdentityError('parse', parsed.message, { cause: parsed });
        // Why: a file with several keys authenticates with its first, as before (ssh2 tries only that one).
        return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
      });
    },
  };
}
