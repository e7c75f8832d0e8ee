#!/usr/bin/env bash
# `make bench` (BENCH=doors): bench/doors.py on the Molecule `default`
# scenario's host (the monolith). Reuses a converged host when it is up (and
# leaves it, converged with the shipped settings); otherwise converges the
# scenario, benchmarks, and destroys it again, also on failure.
# Extra arguments go to bench/doors.py (e.g. --participants 100 --steady 60).
# Results: bench/results/doors-<date>.{json,md} and doors.png.
set -euo pipefail
cd "$(dirname "$0")/.."

up() {
  [ "$(docker inspect -f '{{.State.Running}}' grt-molecule-monolith grt-molecule-monolith-vendor 2>/dev/null)" \
    = $'true\ntrue' ] \
    && docker exec grt-molecule-monolith docker inspect -f '{{.State.Health.Status}}' grt-ctfd 2>/dev/null | grep -qx healthy
}

if up; then
  echo "bench: reusing the converged default scenario"
else
  trap 'echo "bench: destroying the default scenario"; molecule destroy -s default' EXIT
  molecule converge -s default
fi
python bench/doors.py "$@"
