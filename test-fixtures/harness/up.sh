#!/usr/bin/env bash
# Everything the Molecule scenarios need, in order; safe to re-run.
source "$(dirname "$0")/lib.sh"
"$HARNESS_DIR/ensure-docker.sh"
"$HARNESS_DIR/build-base-images.sh"
"$HARNESS_DIR/build-images.sh"
"$HARNESS_DIR/registry.sh"
# Fixture git repositories (plugin, theme, router) the roles clone, with the
# pinned commits in shas.env; deterministic, so a re-run changes nothing.
"$FIXTURES_DIR/upstream/make-repos.sh" "$GRT_STATE_DIR/upstream" >/dev/null
log "fixture repositories ready in $GRT_STATE_DIR/upstream (commits: shas.env)"
"$HARNESS_DIR/test-vault-password.sh"
