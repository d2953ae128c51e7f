# shellcheck shell=bash disable=SC2034
# Shared helpers for scripts/engines/*.sh (sourced, not run): where each private engine
# lives under the work dir, how it is started, and how readiness is checked, so that
# start.sh and the restart-*.sh scripts start a daemon with exactly the same flags.

W=${TAGGER_ENGINES_DIR:-/tmp/tagger-engines}
case $W in /*) ;; *) W=$PWD/$W ;; esac
W=${W%/}
READY_TIMEOUT=${TAGGER_ENGINES_TIMEOUT:-30}

D_DIR=$W/docker
D_SOCK=$D_DIR/docker.sock
D_PID=$D_DIR/docker.pid
# dockerd 20.10 refuses a --pidfile naming any live process (itself included), so the
# launcher records the pid in a file of its own.
D_SPAWN_PID=$D_DIR/dockerd.spawn.pid
D_LOG=$D_DIR/log
# dockerd's own (managed) containerd lives under its exec root.
D_CTD_SOCK=$D_DIR/exec/containerd/containerd.sock
D_CTD_PID=$D_DIR/exec/containerd/containerd.pid

P_DIR=$W/podman
P_SOCK=$P_DIR/podman.sock
P_PID=$P_DIR/podman.pid
P_LOG=$P_DIR/log
# Private podman storage, so nothing lands in /var/lib/containers.
P_FLAGS=(--root "$P_DIR/root" --runroot "$P_DIR/runroot" --tmpdir "$P_DIR/tmp")

C_DIR=$W/containerd
C_SOCK=$C_DIR/containerd.sock
C_PID=$C_DIR/containerd.pid
C_LOG=$C_DIR/log
C_CONF=$C_DIR/config.toml

IMG_DIR=$W/image
DOCKER_IMAGE=local/busybox:latest
PODMAN_IMAGE=localhost/busybox:latest
CONTAINERD_IMAGE=docker.io/local/busybox:latest
SANDBOX_IMAGE=docker.io/local/pause:latest

# The package's docker CLI (matches dockerd 20.10); any docker CLI works via DOCKER_HOST.
DOCKER_CLI=/usr/bin/docker
[ -x "$DOCKER_CLI" ] || DOCKER_CLI=$(command -v docker)

die() {
	echo "engines: $*" >&2
	exit 1
}

# alive PID: true if the process exists and is not a zombie waiting to be reaped.
alive() {
	local s
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# pid_of PIDFILE: prints the pid in the file (dockerd writes it without a newline).
pid_of() {
	local pid=
	{ read -r pid <"$1"; } 2>/dev/null || [ -n "$pid" ] || return 0
	[ -n "$pid" ] && echo "$pid"
	return 0
}

# pid_alive PIDFILE: true if the file names a live process.
pid_alive() {
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] && alive "$pid"
}

ping_ok() { [ "$(curl -s -m 2 --unix-socket "$1" http://d/_ping 2>/dev/null)" = OK ]; }
ctr_ok() { ctr -a "$1" version >/dev/null 2>&1; }

# wait_ready NAME PIDFILE LOG CHECK...: polls CHECK until it succeeds, the process dies or
# READY_TIMEOUT passes; on failure prints the log tail and returns 1.
wait_ready() {
	local name=$1 pidfile=$2 logf=$3 deadline
	shift 3
	deadline=$((SECONDS + READY_TIMEOUT))
	while :; do
		if "$@"; then return 0; fi
		if ! pid_alive "$pidfile"; then
			echo "engines: $name exited before it was ready; last lines of $logf:" >&2
			break
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "engines: $name not ready after ${READY_TIMEOUT}s; last lines of $logf:" >&2
			break
		fi
		sleep 0.05
	done
	tail -n 30 "$logf" >&2 || true
	return 1
}

# pids_matching STRING: pids of processes whose command line contains STRING (not us).
pids_matching() {
	local p args
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$$" ] && continue
		{ mapfile -d '' args <"/proc/$p/cmdline"; } 2>/dev/null || continue
		case "${args[*]}" in *"$1"*) echo "$p" ;; esac
	done
	return 0
}

# wait_gone SECONDS PID...: waits until none of the pids is alive; returns 1 on timeout.
wait_gone() {
	local deadline=$((SECONDS + $1)) p any
	shift
	while :; do
		any=0
		for p in "$@"; do alive "$p" && any=1 && break; done
		[ "$any" = 0 ] && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# kill_pidfile PIDFILE: SIGKILLs the process the file names (a start that never got ready).
kill_pidfile() {
	local pid
	pid=$(pid_of "$1")
	[ -n "$pid" ] || return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait_gone 5 "$pid" || true
}

# spawn PIDFILE LOG CMD...: starts CMD in its own session, detached from this shell.
spawn() {
	local pidfile=$1 logf=$2
	shift 2
	# One log per start (the previous one is kept as LOG.1), so a failure shows its own tail.
	if [ -s "$logf" ]; then mv -f "$logf" "$logf.1"; fi
	(cd / && exec setsid nohup "$@" >>"$logf" 2>&1 </dev/null) &
	echo $! >"$pidfile"
	disown $! 2>/dev/null || true
}

# ---- dockerd ---------------------------------------------------------------------------

dockerd_flags() {
	echo --host "unix://$D_SOCK" --data-root "$D_DIR/data" --exec-root "$D_DIR/exec" \
		--pidfile "$D_PID" --iptables=false --ip6tables=false --bridge=none
}

# start_dockerd: starts dockerd (overlay2, or vfs if overlay2 fails; the driver that
# worked is remembered in $D_DIR/driver) and waits for /_ping.
start_dockerd() {
	local driver drivers
	mkdir -p "$D_DIR"
	if pid_alive "$D_SPAWN_PID" && ping_ok "$D_SOCK"; then return 0; fi
	if [ -s "$D_DIR/driver" ]; then drivers=$(cat "$D_DIR/driver"); else drivers="overlay2 vfs"; fi
	for driver in $drivers; do
		rm -f "$D_SOCK" "$D_PID"
		# shellcheck disable=SC2046
		spawn "$D_SPAWN_PID" "$D_LOG" dockerd $(dockerd_flags) --storage-driver "$driver"
		if wait_ready dockerd "$D_SPAWN_PID" "$D_LOG" ping_ok "$D_SOCK" 2>"$D_DIR/wait.err"; then
			echo "$driver" >"$D_DIR/driver"
			rm -f "$D_DIR/wait.err"
			return 0
		fi
		kill_dockerd KILL
	done
	cat "$D_DIR/wait.err" >&2
	return 1
}

# kill_dockerd SIGNAL: signals dockerd; with KILL also its containerd and the shims,
# which outlive a SIGKILLed dockerd.
kill_dockerd() {
	local sig=$1 pids
	pids=$(
		pid_of "$D_PID"
		pid_of "$D_SPAWN_PID"
		pids_matching "dockerd --host unix://$D_SOCK "
	)
	if [ "$sig" = KILL ]; then
		# containerd, the shims, and the shims' children (the containers' init processes,
		# which nothing would clean up until dockerd starts again).
		local shims p
		shims=$(pids_matching "$D_DIR/exec/containerd/")
		pids="$pids $shims"
		for p in $shims; do pids="$pids $(ps -o pid= --ppid "$p" 2>/dev/null || true)"; done
	fi
	# shellcheck disable=SC2086
	pids=$(printf '%s\n' $pids | sort -u)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -"$sig" $pids 2>/dev/null || true
		# shellcheck disable=SC2086
		wait_gone 20 $pids || {
			kill -KILL $pids 2>/dev/null || true
			wait_gone 5 $pids || true
		}
	fi
	# A killed process may stay a zombie for a while (until PID 1 reaps it), and dockerd
	# treats any pid in these files that kill(pid, 0) accepts as still running: it then
	# refuses to start ("pid file found") or waits on a containerd that is gone ("timeout
	# waiting for containerd to start").
	if ! pid_alive "$D_PID" && ! pid_alive "$D_SPAWN_PID"; then
		rm -f "$D_PID" "$D_CTD_PID"
	fi
}

# ---- podman ----------------------------------------------------------------------------

podman_() { podman "${P_FLAGS[@]}" "$@"; }

start_podman() {
	mkdir -p "$P_DIR/root" "$P_DIR/runroot" "$P_DIR/tmp"
	if pid_alive "$P_PID" && ping_ok "$P_SOCK"; then return 0; fi
	rm -f "$P_SOCK"
	spawn "$P_PID" "$P_LOG" podman "${P_FLAGS[@]}" system service --time=0 "unix://$P_SOCK"
	wait_ready podman "$P_PID" "$P_LOG" ping_ok "$P_SOCK" || {
		kill_pidfile "$P_PID"
		return 1
	}
}

# ---- containerd ------------------------------------------------------------------------

write_containerd_config() {
	mkdir -p "$C_DIR/root" "$C_DIR/state"
	cat >"$C_CONF.new" <<EOF
# Private containerd for tagger's integration tests (written by scripts/engines/start.sh).
version = 2
root = "$C_DIR/root"
state = "$C_DIR/state"

[grpc]
  address = "$C_SOCK"

[ttrpc]
  address = "$C_DIR/containerd.sock.ttrpc"

[debug]
  address = ""

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    # root here lacks CAP_SYS_RESOURCE: without this runc fails with
    # "can't get final child's PID from pipe: EOF".
    restrict_oom_score_adj = true
    # No registry: a pause image built from the busybox rootfs (start.sh imports it).
    sandbox_image = "$SANDBOX_IMAGE"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$C_DIR/cni"
  [plugins."io.containerd.internal.v1.opt"]
    path = "$C_DIR/opt"
EOF
	if [ -f "$C_CONF" ] && cmp -s "$C_CONF" "$C_CONF.new"; then
		rm -f "$C_CONF.new"
		return 1
	fi
	mv "$C_CONF.new" "$C_CONF"
}

start_containerd() {
	# A running containerd with an outdated config is restarted (gracefully).
	if write_containerd_config && pid_alive "$C_PID"; then kill_containerd TERM; fi
	if pid_alive "$C_PID" && ctr_ok "$C_SOCK"; then return 0; fi
	rm -f "$C_SOCK" "$C_SOCK.ttrpc"
	spawn "$C_PID" "$C_LOG" containerd --config "$C_CONF" --root "$C_DIR/root" --state "$C_DIR/state" --address "$C_SOCK"
	wait_ready containerd "$C_PID" "$C_LOG" ctr_ok "$C_SOCK" || {
		kill_pidfile "$C_PID"
		return 1
	}
}

# kill_containerd SIGNAL: signals our private containerd only (its shims keep running
# and are picked up again by the next containerd, as after a real crash).
kill_containerd() {
	local pids
	pids=$(
		pid_of "$C_PID"
		pids_matching "containerd --config $C_CONF "
	)
	# shellcheck disable=SC2086
	pids=$(printf '%s\n' $pids | sort -u)
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -"$1" $pids 2>/dev/null || true
	# shellcheck disable=SC2086
	wait_gone 20 $pids || {
		kill -KILL $pids 2>/dev/null || true
		wait_gone 5 $pids || true
	}
}
