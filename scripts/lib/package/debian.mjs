// The Debian control area and the small files around the program: control, conffiles, the
// maintainer scripts, the agent's environment file and system user, the changelog.

// Why: a site that republishes the package in its own repository sets its own (ROLLOUT_DEB_MAINTAINER).
export const MAINTAINER = process.env.ROLLOUT_DEB_MAINTAINER ?? 'rollout maintainers <rollout-maintainers@example.org>';

export function control({ version, installedKb }) {
  return [
    'Package: rollout',
    `Version: ${version}`,
    'Architecture: all',
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedKb}`,
    // Why: dist/ is ES2023 with top-level await; bin/rollout.js refuses an older Node by itself too.
    'Depends: nodejs (>= 20)',
    'Suggests: haproxy',
    'Section: admin',
    'Priority: optional',
    'Description: rolling restarts of PHP-FPM fleets without dropping a request',
    ' rollout restarts a fleet of PHP-FPM application servers after a code deploy:',
    ' it depools a batch of hosts in etcd (conftool-compatible pool state that the',
    ' load balancers follow), waits for the load balancers to confirm, drains,',
    ' restarts PHP-FPM over SSH, health-checks and repools. It ships the LB agent',
    ' (rollout lb-agent) that applies the pool state to HAProxy, as a systemd unit.',
    '',
  ].join('\n');
}

export const CONFFILES = ['/etc/default/rollout-lb-agent'];

export const ENV_FILE = `# Environment of every rollout-lb-agent@<dc>.service; /etc/default/rollout-lb-agent-<dc> adds
# or overrides variables for one datacenter. Mode 0600: it may hold the etcd password.
# Nothing here is read until the unit is started (systemctl enable --now rollout-lb-agent@<dc>).
#
# The etcd password, under the name the inventory's etcd.passwordEnv gives (docs/etcd.md):
#ROLLOUT_ETCD_PASSWORD=
#
# More options for \`rollout lb-agent\` (docs/lb-agent.md), e.g.:
#ROLLOUT_LB_ARGS=--backend-template {dc}_{cluster}
`;

/** systemd-sysusers(8): the unit's User=rollout-lb and Group=rollout-lb. */
export const SYSUSERS = `# The rollout LB agent's system user (rollout-lb-agent@.service: User=rollout-lb, Group=rollout-lb).
u rollout-lb - "rollout LB agent" /nonexistent
`;

export const POSTINST = `#!/bin/sh
# rollout: creates the LB agent's system user (from /usr/lib/sysusers.d/rollout.conf) and makes
# systemd see the new unit file. Never starts, enables or restarts an agent: configuration
# management does that (systemctl enable --now rollout-lb-agent@<dc>).
set -e
if [ "$1" = configure ]; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers \${DPKG_ROOT:+--root="$DPKG_ROOT"} rollout.conf
	fi
	if [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
fi
exit 0
`;

export const PRERM = `#!/bin/sh
# rollout: on removal only, stops the LB agents, whose program is about to go. An upgrade leaves
# them running the version they started with, until configuration management restarts them.
set -e
if [ "$1" = remove ] && [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
	systemctl stop 'rollout-lb-agent@*.service' >/dev/null 2>&1 || true
fi
exit 0
`;

export const POSTRM = `#!/bin/sh
# rollout: makes systemd forget the removed unit file. The rollout-lb user stays (Debian keeps system users).
set -e
if [ "$1" = remove ] && [ -z "$DPKG_ROOT" ] && [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
exit 0
`;

/** A one-entry Debian changelog for this build (the package is native: changelog.gz). */
export function changelog({ version, commit, date }) {
  return [
    `rollout (${version}) unstable; urgency=medium`,
    '',
    `  * Built from commit ${commit ?? 'unknown'} by npm run package.`,
    '',
    ` -- ${MAINTAINER}  ${date}`,
    '',
  ].join('\n');
}
