#!/usr/bin/env bash
# Simulates a dockerd crash for tagger's integration tests: SIGKILLs the private dockerd
# started by start.sh, and with it its own containerd and the containerd-shim processes
# (they outlive a SIGKILLed dockerd), then starts dockerd again with the same flags and
# waits until /_ping answers OK.
# Usage: restart-dockerd.sh [kill|start]   (default: both, in that order)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

what=${1:-both}
case $what in kill | start | both) ;; *) die "usage: restart-dockerd.sh [kill|start]" ;; esac
if [ "$what" != start ]; then kill_dockerd KILL; fi
if [ "$what" != kill ]; then start_dockerd; fi
