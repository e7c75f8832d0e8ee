#!/usr/bin/env bash
# Debian base images from debootstrap + docker import: Docker Hub is out of
# reach here, so every test image starts from one of these. Built once; an
# existing image is reused (remove it to rebuild).
source "$(dirname "$0")/lib.sh"

for suite in $GRT_SUITES; do
  tag="grt-test/base:$suite"
  if have_image "$tag"; then
    log "image $tag cached"
    continue
  fi
  rootfs="$GRT_STATE_DIR/rootfs-$suite"
  log "debootstrap $suite (minbase) from $GRT_DEBIAN_MIRROR"
  # A failed first try may leave a partial tree: start the retry from scratch.
  run_logged "debootstrap $suite" "$GRT_STATE_DIR/debootstrap-$suite.log" \
    bash -c 'rm -rf "$1" && debootstrap --variant=minbase "$2" "$1" "$3"' _ "$rootfs" "$suite" "$GRT_DEBIAN_MIRROR"
  # Keep images small: no apt lists or caches in the base layer.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
  rm -rf "$rootfs"
  log "image $tag built"
done
