import type { InventoryHost } from '../inventory/types.js';
import type { SshTarget } from '../transport/types.js';

/** Where and how to reach an inventory host over SSH (shared by probes and the orchestrator). */
export function sshTargetFor(host: InventoryHost): SshTarget {
  const ssh = host.settings.ssh;
  return {
    host: host.name,
    address: host.address,
    port: ssh.port,
    user: ssh.user,
    identityFile: ssh.identityFile,
    knownHosts: ssh.knownHosts,
    jumpHost: ssh.jumpHost,
    connectTimeoutSeconds: ssh.connectTimeoutSeconds,
    acceptNewHostKeys: ssh.acceptNewHostKeys,
  };
}
