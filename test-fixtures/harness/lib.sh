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

# Build quietly, but show the whole build log if it fails. Builds download
# Debian packages, so a failed build is tried once more before giving up.
build_image() {
  local tag=$1 context=$2; shift 2
  local logfile="$GRT_STATE_DIR/build-${tag//[\/:]/_}.log"
  mkdir -p "$GRT_STATE_DIR"
  if ! docker build --tag "$tag" "$@" "$context" >"$logfile" 2>&1; then
    log "docker build of $tag failed; trying once more"
    if ! docker build --tag "$tag" "$@" "$context" >"$logfile" 2>&1; then
      cat "$logfile" >&2
      die "docker build of $tag failed (log: $logfile)"
    fi
  fi
  log "image $tag ready"
}
