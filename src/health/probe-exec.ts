import type { InventoryHost } from '../inventory/types.js';
import type { ExecResult, Transport } from '../transport/types.js';
import { sshTargetFor } from './ssh-target.js';

/**
 * Runs a probe's rendered command over SSH within health.requestTimeoutSeconds. The caller's
 * abort is re-thrown; any other failure to run it comes back as `{ error }` for the probe to word.
 */
export async function execProbeCommand(
  transport: Transport,
  host: InventoryHost,
  command: string,
  signal: AbortSignal | undefined,
): Promise<{ readonly result: ExecResult } | { readonly error: unknown }> {
  const timeoutMs = host.settings.health.requestTimeoutSeconds * 1000;
  try {
    return {
      result: await transport.exec(sshTargetFor(host), command, signal ? { timeoutMs, signal } : { timeoutMs }),
    };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    return { error };
  }
}
