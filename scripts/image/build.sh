#!/usr/bin/env bash
# Builds the tagger image from this checkout's Dockerfile on a machine where no registry is
# reachable: the Node.js base comes from scripts/image/base.sh and is passed as NODE_IMAGE.
#
#   scripts/image/build.sh [docker|podman] [IMAGE]   prints the image reference on stdout
#
# docker: the engine DOCKER_HOST names, built with BuildKit through Debian's docker CLI 20.10
#   (/usr/bin/docker, which has BuildKit built in; the newer CLI on these machines has no buildx
#   and would fall back to the classic builder). DOCKER_CLI overrides the CLI; the classic
#   builder is used when that CLI has no BuildKit (the Dockerfile serves both).
# podman: `podman $PODMAN_FLAGS build`, e.g. PODMAN_FLAGS="--remote --url unix:///path/podman.sock"
#   to build on a running Podman service.
# IMAGE defaults to tagger:<package.json version>. Every build step runs with --network host: the
# engines here run without a bridge, and npm in the build needs the registry.
# TAGGER_IMAGE_LABELS (space-separated k=v) are added as image labels, so tests can find and
# remove what they built; TAGGER_IMAGE_BUILD_FLAGS are more build flags (e.g. --no-cache).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
engine=${1:-docker}
log() { echo "image/build: $*" >&2; }

version=$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")
image=${2:-tagger:$version}
label_args=(--label "org.opencontainers.image.version=$version" --label "org.opencontainers.image.title=tagger")
for label in ${TAGGER_IMAGE_LABELS:-}; do label_args+=(--label "$label"); done

case $engine in
docker)
	cli=${DOCKER_CLI:-/usr/bin/docker}
	[ -x "$cli" ] || cli=$(command -v docker)
	# BuildKit only when this CLI has it built in (20.10) or as the buildx plugin.
	if "$cli" buildx version >/dev/null 2>&1 || "$cli" version --format '{{.Client.Version}}' 2>/dev/null | grep -q '^20\.'; then
		export DOCKER_BUILDKIT=1
	else
		export DOCKER_BUILDKIT=0
	fi
	build=("$cli" build)
	base=$(DOCKER_CLI=$cli bash "$HERE/base.sh" docker)
	;;
podman)
	# shellcheck disable=SC2206 # PODMAN_FLAGS is a list of flags, split on purpose
	build=(podman ${PODMAN_FLAGS:-} build --format docker)
	base=$(bash "$HERE/base.sh" podman)
	;;
*) log "engine must be docker or podman, not $engine"; exit 2 ;;
esac

started=$(date +%s%N)
log "building $image on $engine from $base (DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-n/a})"
# shellcheck disable=SC2086 # a list of flags
"${build[@]}" ${TAGGER_IMAGE_BUILD_FLAGS:-} --network host --build-arg "NODE_IMAGE=$base" "${label_args[@]}" -t "$image" "$ROOT" >&2
log "built $image in $(( ($(date +%s%N) - started) / 1000000 )) ms"
echo "$image"
