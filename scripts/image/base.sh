#!/usr/bin/env bash
# Makes a Node.js base image for the Dockerfile's NODE_IMAGE on a machine where no registry is
# reachable, from what the machine itself has: Debian's busybox-static for /bin/sh and the usual
# tools, this machine's node binary with the shared libraries `ldd` names, its npm, and its CA bundle
# (npm inside the build must trust the machine's TLS proxy). Laid out as the official node image
# is: node and npm under /usr/local, a `node` user 1000:1000.
#
#   scripts/image/base.sh [docker|podman]   prints the image reference on stdout
#
# The rootfs tarball is cached under $TAGGER_IMAGE_CACHE (default /var/cache/tagger-image), keyed
# by the node binary's hash and this script's, and the image is imported only when the engine does
# not already have it: a second run takes well under a second.
set -euo pipefail

engine=${1:-docker}
log() { echo "image/base: $*" >&2; }

NODE_BIN=$(readlink -f "$(command -v node)")
NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
BUSYBOX=$(command -v busybox || true)
CA_BUNDLE=${TAGGER_IMAGE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -n "$BUSYBOX" ] || { log "busybox missing (apt-get install busybox-static)"; exit 1; }
# A dynamically linked busybox would need its own libraries; Debian's busybox-static is static.
if ldd "$BUSYBOX" >/dev/null 2>&1; then log "$BUSYBOX is not static (apt-get install busybox-static)"; exit 1; fi
[ -f "$NPM_DIR/bin/npm-cli.js" ] || { log "npm not found beside node ($NPM_DIR)"; exit 1; }
[ -f "$CA_BUNDLE" ] || { log "CA bundle missing: $CA_BUNDLE"; exit 1; }

node_version=$("$NODE_BIN" --version)
key=$( { sha256sum "$NODE_BIN" "$BUSYBOX" "$CA_BUNDLE" "$0"; cat "$NPM_DIR/package.json"; } | sha256sum | cut -c1-12)
image=${TAGGER_IMAGE_BASE:-localhost/tagger-node}:${node_version#v}-$key

case $engine in
docker) cli=(${DOCKER_CLI:-docker}) ;;
podman) cli=(podman ${PODMAN_FLAGS:-}) ;;
*) log "engine must be docker or podman, not $engine"; exit 2 ;;
esac

if "${cli[@]}" image inspect "$image" >/dev/null 2>&1; then
	echo "$image"
	exit 0
fi

cache=${TAGGER_IMAGE_CACHE:-/var/cache/tagger-image}
tarball=$cache/rootfs-$key.tar
if [ ! -f "$tarball" ]; then
	mkdir -p "$cache"
	root=$(mktemp -d "$cache/rootfs.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,usr/local/lib,usr/local/etc,etc/ssl/certs,tmp,root,home/node,var/run,proc,sys,dev}
	chmod 1777 "$root/tmp"
	chmod 0700 "$root/root"
	cp "$BUSYBOX" "$root/bin/busybox"
	# Every applet as a symlink where busybox says it lives (/bin/sh, /usr/bin/env for npm's shebang...).
	for applet in $("$BUSYBOX" --list-full); do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
	cp "$NODE_BIN" "$root/usr/local/bin/node"
	# The loader and each library node links, at the paths ldd resolved them to.
	for lib in $(ldd "$NODE_BIN" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	mkdir -p "$root/usr/local/lib/node_modules"
	cp -a "$NPM_DIR" "$root/usr/local/lib/node_modules/npm"
	ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
	ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
	cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
	# npm's global config ($PREFIX/etc/npmrc): trust the machine's CAs, as its own npm does.
	printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nfund=false\n' >"$root/usr/local/etc/npmrc"
	printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
	printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
	chown 1000:1000 "$root/home/node"
	# Check in the rootfs itself that node starts and finds every library.
	if ! chroot "$root" /usr/local/bin/node -e 'process.exit(0)'; then
		log "node does not start in the rootfs"
		exit 1
	fi
	# A temporary name of this run's own: .ci/run builds on two engines at once, and both may make
	# the same rootfs; each renames its own complete copy into place (the last rename wins).
	partial=$(mktemp "$tarball.XXXXXX")
	tar --numeric-owner -C "$root" -cf "$partial" .
	mv -f "$partial" "$tarball"
	log "rootfs $tarball: $(du -h "$tarball" | cut -f1)"
fi

"${cli[@]}" import \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'ENV NODE_VERSION='"${node_version#v}" \
	--change 'CMD ["node"]' \
	"$tarball" "$image" >/dev/null
log "imported $image into $engine"
echo "$image"
