#!/usr/bin/env bash
# Installs the real container engines that tagger's integration tests run against
# (dockerd + its containerd, podman, ctr) from Debian's packages, on a fresh Debian 12
# machine where nothing but apt and the npm registry are reachable. See docs/engines.md.
# Why the details:
#  - /usr/sbin/policy-rc.d exits 101 before installing, so the package's init script
#    does not start a system dockerd (on /var/run/docker.sock, with iptables); we start
#    private daemons ourselves (scripts/engines/start.sh).
#  - /etc/containers/containers.conf: without explicit ulimits at or below `ulimit -H`
#    and runc + cgroupfs (crun refuses this hybrid cgroup setup), podman containers
#    fail to start.
# Idempotent and quiet: a second run only checks and exits.
set -euo pipefail

log() { echo "engines/install: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "must run as root"
	exit 1
fi

# 1. Keep services from being started by package installs.
POLICY=/usr/sbin/policy-rc.d
if ! { [ -x "$POLICY" ] && grep -qE '^[[:space:]]*exit[[:space:]]+101' "$POLICY"; }; then
	printf '#!/bin/sh\n# Installed by tagger scripts/engines/install.sh: never start services on install.\nexit 101\n' >"$POLICY"
	chmod 0755 "$POLICY"
fi

# 2. Packages.
PKGS=(docker.io curl podman runc catatonit containernetworking-plugins iptables busybox-static openssl python3)
# kubectl, the real client that proves the fake Kubernetes API server faithful: Debian's
# kubernetes-client, unless a kubectl is already installed (some images ship one from another
# package, which owns /usr/bin/kubectl and makes kubernetes-client fail to unpack).
if ! command -v kubectl >/dev/null 2>&1; then PKGS+=(kubernetes-client); fi
missing=()
for p in "${PKGS[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt_log=$(mktemp)
	trap 'rm -f "$apt_log"' EXIT
	# Update the lists unless they were updated recently and know every package.
	need_update=1
	newest=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -360 2>/dev/null | head -n1)
	if [ -n "$newest" ] && apt-cache show "${missing[@]}" >/dev/null 2>&1; then
		need_update=0
	fi
	if [ "$need_update" = 1 ]; then
		if ! apt-get update -q >"$apt_log" 2>&1; then
			cat "$apt_log" >&2
			log "apt-get update failed"
			exit 1
		fi
	fi
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1; then
		# Stale lists can point at versions the mirror no longer has: update once and retry.
		if [ "$need_update" = 0 ] && apt-get update -q >"$apt_log" 2>&1 &&
			apt-get install -y -q --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1; then
			:
		else
			cat "$apt_log" >&2
			log "apt-get install failed: ${missing[*]}"
			exit 1
		fi
	fi
fi

for cmd in dockerd docker containerd ctr containerd-shim-runc-v2 podman runc curl busybox kubectl; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		log "missing command after install: $cmd"
		exit 1
	fi
done

# 3. Podman's containers.conf fixes (ulimits within the hard limits; runc + cgroupfs).
hn=$(ulimit -Hn)
hu=$(ulimit -Hu)
[ "$hn" = unlimited ] && hn=1048576
if [ "$hu" = unlimited ] || [ "$hu" -gt 32768 ]; then hu=32768; fi
CONF=/etc/containers/containers.conf
want=$(
	cat <<EOF
# Written by tagger scripts/engines/install.sh (see docs/engines.md).
# ulimits must not exceed this machine's hard limits (ulimit -Hn / -Hu), or runc fails
# with "error setting rlimit type 7"; crun refuses hybrid cgroups, so use runc + cgroupfs.
[containers]
default_ulimits = ["nofile=${hn}:${hn}", "nproc=${hu}:${hu}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
)
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$want" ]; then
	mkdir -p /etc/containers
	if [ -f "$CONF" ] && ! grep -q 'tagger scripts/engines/install.sh' "$CONF" && [ ! -e "$CONF.orig" ]; then
		cp -p "$CONF" "$CONF.orig"
	fi
	printf '%s\n' "$want" >"$CONF"
fi
