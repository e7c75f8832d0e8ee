# Shared settings and helpers for the test harness scripts (sourced, not run).
# Everything here serves the tests only; no role reads any of it.
set -euo pipefail

GRT_TEST_NETWORK=${GRT_TEST_NETWORK:-grt-test}
GRT_REGISTRY_NAME=${GRT_REGISTRY_NAME:-grt-registry}
# Loopback only: the outer engine pushes here; test hosts reach the same
# registry by container name on the test network.
GRT_REGISTRY_PUSH=${GRT_REGISTRY_PUSH:-127.0.0.1:5000}
GRT_DEBIAN_MIRROR=${GRT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
GRT_STATE_DIR=${GRT_STATE_DIR:-/var/tmp/grt-test}
GRT_SUITES=${GRT_SUITES:-"bookworm trixie"}

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURES_DIR=$(dirname "$HARNESS_DIR")
IMAGES_DIR="$FIXTURES_DIR/images"

log() { printf '[harness] %s\n' "$*" >&2; }
die() { printf '[harness] ERROR: %s\n' "$*" >&2; exit 1; }

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# run_logged WHAT LOGFILE CMD...: run CMD with its output in LOGFILE. Every
# command run this way downloads from the Debian archive, so a failure is
# tried once more; a second failure shows the log and stops the harness.
run_logged() {
  local what=$1 logfile=$2; shift 2
  mkdir -p "$GRT_STATE_DIR"
  "$@" >"$logfile" 2>&1 && return 0
  log "$what failed; trying once more"
  "$@" >"$logfile" 2>&1 && return 0
  tail -40 "$logfile" >&2
  die "$what failed (log: $logfile)"
}

build_image() {
  local tag=$1 context=$2; shift 2
  run_logged "docker build of $tag" "$GRT_STATE_DIR/build-${tag//[\/:]/_}.log" \
    docker build --tag "$tag" "$@" "$context"
  log "image $tag ready"
}

# The offline image set: "<dir> <suite> <upstream ref>" per line, comments dropped.
manifest_entries() { grep -Ev '^[[:space:]]*(#|$)' "$IMAGES_DIR/manifest"; }
