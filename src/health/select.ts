import type { Transport } from '../transport/types.js';
import { createCommandProbe } from './command.js';
import { createCommandDrainProbe, createHttpDrainProbe } from './drain.js';
import { createHttpProbe } from './http.js';
import type { DrainProbe, HealthProbe } from './types.js';

export interface Probes {
  readonly probe: HealthProbe;
  readonly drain: DrainProbe;
}

/** Probes that pick, per host, HTTP or a command over SSH from the host's own settings. */
export function createProbes(transport: Transport, options: { readonly fetch?: typeof fetch } = {}): Probes {
  const http = createHttpProbe(options);
  const command = createCommandProbe(transport);
  const httpDrain = createHttpDrainProbe(options);
  const commandDrain = createCommandDrainProbe(transport);
  return {
    probe: {
      check: (host, context) => (host.settings.health.type === 'command' ? command : http).check(host, context),
    },
    drain: {
      activeRequests: (host, context) =>
        (host.settings.drain.statusCommand !== undefined ? commandDrain : httpDrain).activeRequests(host, context),
    },
  };
}
