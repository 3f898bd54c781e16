import fs from 'node:fs';
import { RolloutError } from '../errors.js';

/** A file an etcd setting names (CA, client certificate, key), or E_INVENTORY naming the setting. */
export function readSettingFile(setting: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new RolloutError(
      'E_INVENTORY',
      `cannot read ${setting} file ${file} (${(error as Error).message}): fix ${setting} in the inventory`,
      { where: setting, cause: error },
    );
  }
}
