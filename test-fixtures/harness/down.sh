#!/usr/bin/env bash
# Undo up.sh: registry, its data, the test network and every grt-test image.
source "$(dirname "$0")/lib.sh"
docker rm -f "$GRT_REGISTRY_NAME" >/dev/null 2>&1 || true
docker volume rm grt-registry-data >/dev/null 2>&1 || true
docker network rm "$GRT_TEST_NETWORK" >/dev/null 2>&1 || true
images=$(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E "^(grt-test/|$GRT_REGISTRY_PUSH/)" || true)
[ -z "$images" ] || docker rmi -f $images >/dev/null
log "harness removed"
