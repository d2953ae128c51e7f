#!/usr/bin/env bash
# Starts private, real container engines for tagger's integration tests, under
# ${TAGGER_ENGINES_DIR:-/tmp/tagger-engines} ($W), each on its own socket so nothing
# touches the system's /var/run/docker.sock or /run/containerd:
#   docker      dockerd on $W/docker/docker.sock (overlay2, vfs fallback; no iptables/bridge)
#   podman      podman system service on $W/podman/podman.sock (private storage)
#   containerd  containerd on $W/containerd/containerd.sock (own config/root/state, CRI on)
# No registry is reachable, so a busybox image is built from Debian's busybox-static and
# imported into each engine. Writes $W/env.sh with the TAGGER_TEST_* variables.
# Usage: start.sh [docker|podman|containerd ...]   (default: all). Needs install.sh first.
# Idempotent: a running, ready engine is left alone; images already imported are kept.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root"
for cmd in dockerd containerd ctr podman curl busybox; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd not found: run scripts/engines/install.sh first"
done

engines=("$@")
[ "${#engines[@]}" -gt 0 ] || engines=(docker podman containerd)
for e in "${engines[@]}"; do
	case $e in docker | podman | containerd) ;; *) die "unknown engine '$e' (docker|podman|containerd)" ;; esac
done
want() { local e; for e in "${engines[@]}"; do [ "$e" = "$1" ] && return 0; done; return 1; }

mkdir -p "$W" "$IMG_DIR"
rm -f "$W/env.sh"
# Unix socket paths are limited to 107 bytes; the deepest one is dockerd's containerd.
[ "${#D_CTD_SOCK}" -lt 100 ] || die "TAGGER_ENGINES_DIR too long for unix socket paths: $W"

# ---- the busybox image ------------------------------------------------------------------
# rootfs: bin/busybox + applet symlinks, etc/passwd, etc/group; a reproducible tar of it
# (sorted, mtime 0, root-owned) so its digest only changes with busybox itself.
IMG_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
build_rootfs() {
	local bb stamp
	bb=$(command -v busybox)
	stamp="$(sha256sum "$bb" | cut -d' ' -f1) v1"
	if [ -s "$IMG_DIR/rootfs.tar" ] && [ "$(cat "$IMG_DIR/rootfs.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	local r=$IMG_DIR/rootfs
	rm -rf "$r"
	mkdir -p "$r/bin" "$r/etc" "$r/dev" "$r/proc" "$r/sys" "$r/root" "$r/tmp" "$r/var/tmp"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 0700 "$r/root"
	cp "$bb" "$r/bin/busybox"
	local a
	(
		cd "$r/bin"
		for a in $(./busybox --list); do
			[ "$a" = busybox ] || ln -s busybox "$a"
		done
	)
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$r" -cf "$IMG_DIR/rootfs.tar.new" .
	mv "$IMG_DIR/rootfs.tar.new" "$IMG_DIR/rootfs.tar"
	rm -f "$IMG_DIR"/*-oci.tar
	echo "$stamp" >"$IMG_DIR/rootfs.stamp"
}

# OCI image layout tar for `ctr images import`: layer blob (the uncompressed rootfs tar),
# config blob (rootfs.diff_ids = the layer's digest), manifest, index.json naming the
# image through io.containerd.image.name, and oci-layout.
# build_oci OUT.tar IMAGE-NAME CONFIG-JSON (the image config's "config" object)
build_oci() {
	local out=$1 name=$2 cfg=$3
	[ -s "$out" ] && return 0
	local o=$IMG_DIR/oci arch layer lsize config csize manifest msize
	rm -rf "$o"
	mkdir -p "$o/blobs/sha256"
	arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
	layer=$(sha256sum "$IMG_DIR/rootfs.tar" | cut -d' ' -f1)
	lsize=$(stat -c %s "$IMG_DIR/rootfs.tar")
	cp "$IMG_DIR/rootfs.tar" "$o/blobs/sha256/$layer"
	printf '{"architecture":"%s","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"tagger scripts/engines/start.sh: busybox-static rootfs"}]}' \
		"$arch" "$cfg" "$layer" >"$o/config.json"
	config=$(sha256sum "$o/config.json" | cut -d' ' -f1)
	csize=$(stat -c %s "$o/config.json")
	mv "$o/config.json" "$o/blobs/sha256/$config"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$config" "$csize" "$layer" "$lsize" >"$o/manifest.json"
	manifest=$(sha256sum "$o/manifest.json" | cut -d' ' -f1)
	msize=$(stat -c %s "$o/manifest.json")
	mv "$o/manifest.json" "$o/blobs/sha256/$manifest"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
		"$manifest" "$msize" "$name" "${name##*:}" "$arch" >"$o/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$o/oci-layout"
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$o" -cf "$out.new" oci-layout index.json blobs
	mv "$out.new" "$out"
	rm -rf "$o"
}

stamp_of() { cat "$IMG_DIR/rootfs.stamp"; }

import_docker() {
	if [ "$(cat "$D_DIR/image.stamp" 2>/dev/null)" = "$(stamp_of)" ] &&
		DOCKER_HOST=unix://$D_SOCK "$DOCKER_CLI" image inspect "$DOCKER_IMAGE" >/dev/null 2>&1; then
		return 0
	fi
	DOCKER_HOST=unix://$D_SOCK "$DOCKER_CLI" import --change 'CMD ["/bin/sh"]' --change "ENV PATH=$IMG_PATH" \
		"$IMG_DIR/rootfs.tar" "$DOCKER_IMAGE" >/dev/null || die "docker import failed"
	stamp_of >"$D_DIR/image.stamp"
}

import_podman() {
	if [ "$(cat "$P_DIR/image.stamp" 2>/dev/null)" = "$(stamp_of)" ] &&
		podman_ image exists "$PODMAN_IMAGE" 2>/dev/null; then
		return 0
	fi
	podman_ import --quiet --change 'CMD ["/bin/sh"]' --change "ENV PATH=$IMG_PATH" \
		"$IMG_DIR/rootfs.tar" "$PODMAN_IMAGE" >/dev/null || die "podman import failed"
	stamp_of >"$P_DIR/image.stamp"
}

# busybox into `default` and `k8s.io`; the pause image (same layer, a command that waits
# forever: busybox's /bin/sh exits at once without stdin) into `k8s.io` for the CRI
# plugin's sandbox_image, so RunPodSandbox needs no registry.
import_containerd() {
	local ns_img ns tar name
	build_oci "$IMG_DIR/busybox-oci.tar" "$CONTAINERD_IMAGE" "{\"Env\":[\"PATH=$IMG_PATH\"],\"Cmd\":[\"/bin/sh\"]}"
	build_oci "$IMG_DIR/pause-oci.tar" "$SANDBOX_IMAGE" "{\"Env\":[\"PATH=$IMG_PATH\"],\"Entrypoint\":[\"/bin/sh\",\"-c\",\"trap 'exit 0' TERM INT; sleep 2147483647 & wait\"]}"
	for ns_img in default:busybox k8s.io:busybox k8s.io:pause; do
		ns=${ns_img%%:*}
		case ${ns_img#*:} in busybox) tar=$IMG_DIR/busybox-oci.tar name=$CONTAINERD_IMAGE ;; pause) tar=$IMG_DIR/pause-oci.tar name=$SANDBOX_IMAGE ;; esac
		if [ "$(cat "$C_DIR/image.$ns.${ns_img#*:}.stamp" 2>/dev/null)" = "$(stamp_of)" ] &&
			ctr -a "$C_SOCK" -n "$ns" images ls -q 2>/dev/null | grep -qxF "$name"; then
			continue
		fi
		ctr -a "$C_SOCK" -n "$ns" images import "$tar" >/dev/null ||
			die "ctr images import of $name into namespace $ns failed"
		stamp_of >"$C_DIR/image.$ns.${ns_img#*:}.stamp"
	done
}

# ---- start -----------------------------------------------------------------------------
# Start the daemons in parallel (each waits for its own readiness), then import images.
build_rootfs
pids=() names=()
if want docker; then start_dockerd & pids+=($!) names+=(docker); fi
if want podman; then start_podman & pids+=($!) names+=(podman); fi
if want containerd; then start_containerd & pids+=($!) names+=(containerd); fi
failed=()
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || failed+=("${names[$i]}")
done
[ "${#failed[@]}" = 0 ] || die "failed to start: ${failed[*]}"

if want docker; then import_docker & pids=($!); else pids=(); fi
if want podman; then import_podman & pids+=($!); fi
if want containerd; then import_containerd & pids+=($!); fi
for p in "${pids[@]}"; do wait "$p" || die "image import failed"; done

# ---- env.sh ----------------------------------------------------------------------------
cat >"$W/env.sh.new" <<EOF
# Written by scripts/engines/start.sh: source it before running integration tests.
export TAGGER_ENGINES_DIR='$W'
export TAGGER_TEST_DOCKER_HOST='unix://$D_SOCK'
export TAGGER_TEST_PODMAN_HOST='unix://$P_SOCK'
export TAGGER_TEST_CONTAINERD_SOCKET='$C_SOCK'
export TAGGER_TEST_DOCKER_IMAGE='$DOCKER_IMAGE'
export TAGGER_TEST_PODMAN_IMAGE='$PODMAN_IMAGE'
export TAGGER_TEST_CONTAINERD_IMAGE='$CONTAINERD_IMAGE'
export TAGGER_TEST_CONTAINERD_NAMESPACES='default k8s.io'
# CRI pod sandbox ("pause") image, imported into k8s.io; it is the CRI plugin's sandbox_image.
export TAGGER_TEST_CONTAINERD_SANDBOX_IMAGE='$SANDBOX_IMAGE'
# dockerd's own containerd (namespace moby), for tests that look below dockerd.
export TAGGER_TEST_DOCKER_CONTAINERD_SOCKET='$D_CTD_SOCK'
export TAGGER_TEST_DOCKERD_PIDFILE='$D_PID'
export TAGGER_TEST_PODMAN_PIDFILE='$P_PID'
export TAGGER_TEST_CONTAINERD_PIDFILE='$C_PID'
# SIGKILL and start again, waiting until ready: "\$CMD" (both), "\$CMD kill", "\$CMD start".
export TAGGER_TEST_DOCKERD_RESTART='$HERE/restart-dockerd.sh'
export TAGGER_TEST_CONTAINERD_RESTART='$HERE/restart-containerd.sh'
export TAGGER_TEST_ENGINES_STOP='$HERE/stop.sh'
EOF
mv "$W/env.sh.new" "$W/env.sh"
