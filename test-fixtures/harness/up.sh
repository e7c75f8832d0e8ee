#!/usr/bin/env bash
# Everything the Molecule scenarios need, in order; safe to re-run.
source "$(dirname "$0")/lib.sh"
"$HARNESS_DIR/ensure-docker.sh"
"$HARNESS_DIR/build-base-images.sh"
"$HARNESS_DIR/build-images.sh"
"$HARNESS_DIR/registry.sh"
