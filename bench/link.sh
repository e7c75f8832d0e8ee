#!/usr/bin/env bash
# `make bench`: the link's loopback benchmark (bench/link.py) - the roles'
# nginx pair against a minimal nginx mutual-TLS pair and a stunnel pair, on
# this machine's loopback, no Molecule. Needs the harness's nginx image
# (`make test-env`), wrk and stunnel4 (installed here from Debian if missing).
# Extra arguments go to bench/link.py (e.g. --levels 1,16,64 --rounds 3).
# Results: bench/results/link-<date>.{json,md} and link.png.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v stunnel >/dev/null || missing+=(stunnel4)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench: installing ${missing[*]} from Debian"
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
python bench/link.py "$@"
