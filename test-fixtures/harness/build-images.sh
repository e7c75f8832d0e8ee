#!/usr/bin/env bash
# Test-host images (one per Debian suite) and the offline image set listed in
# images/manifest. docker build's layer cache makes a re-run cheap; the slow
# part, debootstrap, is cached by build-base-images.sh.
source "$(dirname "$0")/lib.sh"

for suite in $GRT_SUITES; do
  build_image "grt-test/host:$suite" "$IMAGES_DIR/test-host" --build-arg "BASE_IMAGE=grt-test/base:$suite"
done

build_image grt-test/registry "$IMAGES_DIR/registry" --build-arg BASE_IMAGE=grt-test/base:bookworm
build_image grt-test/fake-docker-repo "$IMAGES_DIR/fake-docker-repo" --build-arg BASE_IMAGE=grt-test/base:bookworm
# Fake OpenAI-compatible vendor: runs on the test network, never pushed.
build_image grt-test/fake-vendor "$IMAGES_DIR/fake-vendor" --build-arg BASE_IMAGE=grt-test/base:bookworm

while read -r dir suite upstream; do
  build_image "grt-test/offline/$dir" "$IMAGES_DIR/$dir" --build-arg "BASE_IMAGE=grt-test/base:$suite"
done < <(manifest_entries)
