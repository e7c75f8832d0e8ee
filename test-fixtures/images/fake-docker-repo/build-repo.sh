#!/bin/bash
# Lay out a signed apt repository shaped like Docker's under $1/linux/debian,
# with empty packages named like Docker's. A throwaway key signs it; its
# public half is published as linux/debian/gpg, as Docker publishes theirs.
set -euo pipefail
root="$1/linux/debian"
export GNUPGHOME=$(mktemp -d)
gpg --batch --quiet --passphrase '' --quick-generate-key 'grt fake docker repo <test@grt.invalid>' ed25519 sign never
mkdir -p "$root"
gpg --armor --export > "$root/gpg"

packages="docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin"
for suite in bookworm trixie; do
  for arch in amd64 arm64; do
    pool="$root/pool/$suite/stable/$arch"
    mkdir -p "$pool" "$root/dists/$suite/stable/binary-$arch"
    for pkg in $packages; do
      work=$(mktemp -d)
      mkdir -p "$work/DEBIAN"
      printf 'Package: %s\nVersion: 5:99.0.0-1~%s\nArchitecture: %s\nMaintainer: grt tests <test@grt.invalid>\nDescription: empty stand-in for %s\n' \
        "$pkg" "$suite" "$arch" "$pkg" > "$work/DEBIAN/control"
      dpkg-deb --build --root-owner-group "$work" "$pool/${pkg}_99.0.0_${arch}.deb" >/dev/null
      rm -rf "$work"
    done
    (cd "$root" && apt-ftparchive packages "pool/$suite/stable/$arch") > "$root/dists/$suite/stable/binary-$arch/Packages"
    gzip -9 -k "$root/dists/$suite/stable/binary-$arch/Packages"
  done
  (cd "$root/dists/$suite" && apt-ftparchive \
      -o APT::FTPArchive::Release::Suite="$suite" -o APT::FTPArchive::Release::Codename="$suite" \
      -o APT::FTPArchive::Release::Components=stable -o APT::FTPArchive::Release::Architectures="amd64 arm64" \
      -o APT::FTPArchive::Release::Origin=Docker release . > Release)
  gpg --batch --yes --clearsign -o "$root/dists/$suite/InRelease" "$root/dists/$suite/Release"
done
rm -rf "$GNUPGHOME"
