#!/usr/bin/env bash
# Undo up.sh: registry, its data, the test network and every grt-test image.
source "$(dirname "$0")/lib.sh"
docker rm -f "$GRT_REGISTRY_NAME" >/dev/null 2>&1 || true
docker volume rm grt-registry-data >/dev/null 2>&1 || true
docker network rm "$GRT_TEST_NETWORK" >/dev/null 2>&1 || true
# By id: pushed copies whose tag moved on are listed as <repo>:<none>, not a usable name.
images=$(docker images --format '{{.Repository}} {{.ID}}' | grep -E "^(grt-test/|$GRT_REGISTRY_PUSH/)" | cut -d' ' -f2 | sort -u || true)
[ -z "$images" ] || docker rmi -f $images >/dev/null
log "harness removed"
