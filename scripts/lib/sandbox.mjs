// The sandbox API (used by scripts/sandbox, the end-to-end tests and the demo): a loopback fleet
// of real etcd, sshd, nginx, PHP-FPM and HAProxy processes under one state directory.
export { sandboxUp } from './sandbox/up.mjs';
export {
  sandboxDown,
  sandboxStatus,
  sandboxRelease,
  breakFpm,
  fixFpm,
  stopSshd,
  startSshd,
} from './sandbox/control.mjs';
export { readSandboxState, resolveDir, DEFAULT_DIR } from './sandbox/state.mjs';
export { fillOpcache } from './sandbox/opcache.mjs';
export { planFleet, backendName, DEFAULT_FLEET } from './sandbox/layout.mjs';
export { freePort, processesMentioning, cmdline, stopProcesses } from './sandbox/procs.mjs';
export { startReaper, reapGroup, processesOf } from './sandbox/reaper.mjs';
