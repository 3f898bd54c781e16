import type { InventoryHost } from '../inventory/types.js';
import type { TemplateVars } from '../transport/template.js';

/** The placeholders a health URL, health command or drain status template may use ({port}: the host's SSH port). */
export function probeVars(host: InventoryHost, release: string | undefined): TemplateVars {
  return {
    host: host.name,
    address: host.address,
    port: host.settings.ssh.port,
    service: host.settings.service,
    dc: host.dc,
    cluster: host.cluster,
    release,
  };
}
