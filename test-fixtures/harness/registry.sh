#!/usr/bin/env bash
# Run the local registry on the test network and push the offline image set
# under the upstream repository names and tags the roles default to.
source "$(dirname "$0")/lib.sh"

if ! docker network inspect "$GRT_TEST_NETWORK" >/dev/null 2>&1; then
  docker network create "$GRT_TEST_NETWORK" >/dev/null
  log "network $GRT_TEST_NETWORK created"
fi

running=$(docker inspect --format '{{.State.Running}}' "$GRT_REGISTRY_NAME" 2>/dev/null || true)
if [ "$running" != true ]; then
  docker rm -f "$GRT_REGISTRY_NAME" >/dev/null 2>&1 || true
  docker run --detach --name "$GRT_REGISTRY_NAME" --restart unless-stopped \
    --network "$GRT_TEST_NETWORK" \
    --publish "$GRT_REGISTRY_PUSH:5000" \
    --volume grt-registry-data:/var/lib/docker-registry \
    grt-test/registry >/dev/null
  log "registry $GRT_REGISTRY_NAME started"
fi
for _ in $(seq 1 30); do
  curl -fsS "http://$GRT_REGISTRY_PUSH/v2/" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://$GRT_REGISTRY_PUSH/v2/" >/dev/null || die "registry did not answer on $GRT_REGISTRY_PUSH"

while read -r dir _suite upstream; do
  target="$GRT_REGISTRY_PUSH/$upstream"
  docker tag "grt-test/offline/$dir" "$target"
  docker push --quiet "$target" >/dev/null || die "push of $target failed"
  log "pushed $upstream"
done < <(manifest_entries)
