// conftool's own etcd calls, through Debian's python3-etcd (test/integration/pool/fixtures/conftool.py).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The script: `python3 CONFTOOL_SCRIPT URL read|write|stale-update PATH …`. */
export const CONFTOOL_SCRIPT = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'integration',
  'pool',
  'fixtures',
  'conftool.py',
);
