import type { InventoryHost } from '../inventory/types.js';
import type { TemplateVars } from '../transport/template.js';

/** The placeholders a health URL, health command or drain status template may use. */
export function probeVars(host: InventoryHost, release: string | undefined): TemplateVars {
  return {
    host: host.name,
    address: host.address,
    service: host.settings.service,
    dc: host.dc,
    cluster: host.cluster,
    release,
  };
}
