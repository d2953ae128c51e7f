#!/usr/bin/env bash
# Simulates a containerd crash for tagger's integration tests: SIGKILLs the private
# containerd started by start.sh (its shims, and so the containers, keep running, as
# after a real crash), then starts it again with the same config and waits until
# `ctr version` answers.
# Usage: restart-containerd.sh [kill|start]   (default: both, in that order)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

what=${1:-both}
case $what in kill | start | both) ;; *) die "usage: restart-containerd.sh [kill|start]" ;; esac
if [ "$what" != start ]; then kill_containerd KILL; fi
if [ "$what" != kill ]; then start_containerd; fi
