#!/usr/bin/env bash
# Fetches the older kernels that the guest-kernel differential test boots
# (tests/src/guests.rs): Debian bookworm's cloud kernels 6.1 (the corpus's
# own) and the newest 6.12. For each, OUT/<release>/ gets:
#
#   vmlinuz       the bzImage, booted under qemu (KVM when /dev/kvm is there)
#   vmlinux.btf   its .BTF, for the names of its structs (kptr pointees)
#   .complete     stamp: reruns skip the kernel
#
# Usage: guest-kernels.sh [OUT]   (default: <repo>/target/vm)
# Needs: apt-get (download only), dpkg-deb, and what vmlinuz-btf.sh needs
# (objcopy, lz4, zstd).
set -euo pipefail

# 6.1: the corpus's package. 6.12: the newest that bookworm's metapackage
# names (old ABIs leave the archive), or the last one known here.
pkg612=$(apt-cache depends linux-image-6.12-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-6\.12/ {print $2; exit}')
PKGS=(linux-image-6.1.0-50-cloud-amd64 "${pkg612:-linux-image-6.12.117+deb12-cloud-amd64}")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/target/vm}

for tool in apt-get dpkg-deb objcopy lz4 zstd; do
  command -v "$tool" >/dev/null || { echo "guest-kernels: $tool is missing (apt-get install binutils lz4 zstd dpkg)" >&2; exit 2; }
done
mkdir -p "$out"
for pkg in "${PKGS[@]}"; do
  release=${pkg#linux-image-}
  dir=$out/$release
  if [ -f "$dir/.complete" ]; then
    echo "guest-kernels: $release is there"
    continue
  fi
  work=$(mktemp -d "$out/.work-XXXXXX")
  (cd "$work" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  deb=$(ls "$work"/*.deb 2>/dev/null) || { echo "guest-kernels: could not download $pkg" >&2; rm -rf "$work"; exit 1; }
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" ./boot
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$work"/boot/vmlinuz-* "$dir/vmlinuz"
  bash "$repo/tests/corpus/vmlinuz-btf.sh" "$dir/vmlinuz" "$dir/vmlinux.btf"
  rm -rf "$work"
  touch "$dir/.complete"
  echo "guest-kernels: $release: $(stat -c %s "$dir/vmlinuz") bytes of bzImage, $(stat -c %s "$dir/vmlinux.btf") of BTF"
done
