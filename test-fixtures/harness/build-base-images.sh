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
  rm -rf "$rootfs"
  mkdir -p "$GRT_STATE_DIR"
  log "debootstrap $suite (minbase) from $GRT_DEBIAN_MIRROR"
  # One more try on failure: the mirror is reached over the network.
  if ! debootstrap --variant=minbase "$suite" "$rootfs" "$GRT_DEBIAN_MIRROR" >"$GRT_STATE_DIR/debootstrap-$suite.log" 2>&1; then
    log "debootstrap $suite failed; trying once more"
    rm -rf "$rootfs"
    if ! debootstrap --variant=minbase "$suite" "$rootfs" "$GRT_DEBIAN_MIRROR" >"$GRT_STATE_DIR/debootstrap-$suite.log" 2>&1; then
      tail -30 "$GRT_STATE_DIR/debootstrap-$suite.log" >&2
      die "debootstrap $suite failed"
    fi
  fi
  # Keep images small: no apt lists or caches in the base layer.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
  rm -rf "$rootfs"
  log "image $tag built"
done
