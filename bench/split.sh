#!/usr/bin/env bash
# `make bench`: the split proxy pair's benchmark (bench/split.py) on the
# Molecule `split` scenario's hosts. Reuses converged hosts when they are up
# (and leaves them); otherwise converges the scenario (create, prepare,
# converge), benchmarks, and destroys it again, also on failure.
# Extra arguments go to bench/split.py (e.g. --levels 1,16 --duration 5).
# Results: bench/results/bench-<date>.{json,md} and latency-vs-concurrency.png.
set -euo pipefail
cd "$(dirname "$0")/.."

# The split scenario's platforms (molecule/split/molecule.yml).
up() {
  [ "$(docker inspect -f '{{.State.Running}}' grt-molecule-local grt-molecule-remote grt-molecule-split-vendor 2>/dev/null)" \
    = $'true\ntrue\ntrue' ] \
    && docker exec grt-molecule-local docker inspect -f '{{.State.Health.Status}}' grt-link-local 2>/dev/null | grep -qx healthy \
    && docker exec grt-molecule-remote docker inspect -f '{{.State.Health.Status}}' grt-link-remote 2>/dev/null | grep -qx healthy
}

if up; then
  echo "bench: reusing the converged split scenario"
else
  trap 'echo "bench: destroying the split scenario"; molecule destroy -s split' EXIT
  molecule converge -s split
fi
python bench/split.py "$@"
