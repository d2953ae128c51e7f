#!/usr/bin/env bash
# Stops the private container engines that start.sh started under
# ${TAGGER_ENGINES_DIR:-/tmp/tagger-engines} and leaves the machine clean: removes every
# container (docker, podman, and each containerd namespace), SIGTERMs the daemons, then
# SIGKILLs whatever of ours is left (dockerd, containerd, containerd-shim, conmon, podman
# processes whose command line names the work dir) and unmounts anything left under it.
# Images and engine data stay under the work dir so the next start.sh is fast; with
# --purge the work dir is deleted too. Safe to run when nothing is running.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

purge=0
for a in "$@"; do
	case $a in --purge) purge=1 ;; *) die "usage: stop.sh [--purge]" ;; esac
done
[ "$(id -u)" = 0 ] || die "must run as root"
[ -d "$W" ] || exit 0
rm -f "$W/env.sh"

# 1. Containers. A daemon that was killed (restart-*.sh kill) is started again for this,
#    so that its containers do not reappear at the next start.sh.
# shellcheck disable=SC2034 # read by start_dockerd/start_containerd
READY_TIMEOUT=10
if ! { pid_alive "$D_SPAWN_PID" && ping_ok "$D_SOCK"; } &&
	[ -n "$(ls -A "$D_DIR/data/containers" 2>/dev/null)" ]; then
	start_dockerd >/dev/null 2>&1 || true
fi
if ! pid_alive "$C_PID" && [ -d "$C_DIR/root" ]; then
	start_containerd >/dev/null 2>&1 || true
fi
if pid_alive "$D_SPAWN_PID" && ping_ok "$D_SOCK"; then
	ids=$(DOCKER_HOST=unix://$D_SOCK "$DOCKER_CLI" ps -aq 2>/dev/null || true)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086
		DOCKER_HOST=unix://$D_SOCK "$DOCKER_CLI" rm -f -v $ids >/dev/null 2>&1 || true
	fi
fi
if [ -d "$P_DIR/root" ] && command -v podman >/dev/null 2>&1; then
	podman_ pod rm --all --force >/dev/null 2>&1 || true
	podman_ rm --all --force --time 0 >/dev/null 2>&1 || true
fi
if pid_alive "$C_PID" && ctr_ok "$C_SOCK"; then
	for ns in $(ctr -a "$C_SOCK" namespaces ls -q 2>/dev/null); do
		c=(ctr -a "$C_SOCK" -n "$ns")
		tasks=$("${c[@]}" tasks ls -q 2>/dev/null || true)
		for t in $tasks; do "${c[@]}" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true; done
		# Delete each task once it has stopped (the CRI plugin deletes its own tasks as
		# they exit, so a task that is gone is done too).
		for t in $tasks; do
			for _ in $(seq 1 100); do
				"${c[@]}" tasks rm -f "$t" >/dev/null 2>&1 && break
				"${c[@]}" tasks ls -q 2>/dev/null | grep -qxF "$t" || break
				sleep 0.05
			done
		done
		for ctn in $("${c[@]}" containers ls -q 2>/dev/null || true); do
			"${c[@]}" containers rm "$ctn" >/dev/null 2>&1 || true
		done
	done
fi

# 2. Daemons: SIGTERM all three at once (dockerd stops its own containerd), then wait.
kill_dockerd TERM &
p1=$!
kill_containerd TERM &
p2=$!
(
	pids=$(
		pid_of "$P_PID"
		pids_matching "system service --time=0 unix://$P_SOCK"
	)
	# shellcheck disable=SC2086
	pids=$(printf '%s\n' $pids | sort -u)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 20 $pids || kill -KILL $pids 2>/dev/null || true
	fi
) &
p3=$!
wait $p1 $p2 $p3 || true

# 3. Leftovers of ours (e.g. shims after a SIGKILLed dockerd, conmon after podman).
leftovers() {
	local p comm
	for p in $(pids_matching "$W/"); do
		comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		case $comm in
		dockerd | containerd | podman | runc) echo "$p" ;;
		# a shim's or conmon's children are the containers' processes
		containerd-shim* | conmon)
			echo "$p"
			ps -o pid= --ppid "$p" 2>/dev/null || true
			;;
		esac
	done
}
left=$(leftovers)
if [ -n "$left" ]; then
	# shellcheck disable=SC2086
	kill -TERM $left 2>/dev/null || true
	# shellcheck disable=SC2086
	wait_gone 5 $left || {
		kill -KILL $left 2>/dev/null || true
		wait_gone 5 $left || echo "engines: processes still alive after SIGKILL: $left" >&2
	}
fi
rm -f "$D_PID" "$D_SPAWN_PID" "$P_PID" "$C_PID" "$D_SOCK" "$P_SOCK" "$C_SOCK" "$C_SOCK.ttrpc"

# 4. Mounts left under the work dir (overlay rootfs, shm, netns), deepest first.
mounts=$(findmnt -rn -o TARGET | awk -v w="$W/" 'index($0, w) == 1' | sort -r || true)
for m in $mounts; do
	umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "engines: cannot unmount $m" >&2
done

# 5. Shim sockets in /run/containerd/s (the shims' fixed socket dir) that nothing listens
#    on any more: left by shims that were SIGKILLed (restart-dockerd.sh, step 3).
if [ -d /run/containerd/s ] && command -v ss >/dev/null 2>&1; then
	listening=$(ss -xlnH 2>/dev/null | awk '{print $5}')
	for s in /run/containerd/s/*; do
		[ -S "$s" ] || continue
		grep -qxF "$s" <<<"$listening" || rm -f "$s"
	done
fi

if [ "$purge" = 1 ]; then
	rm -rf "$W"
fi
