#!/usr/bin/env bash
# Fetches the kernels that the guest-kernel differential test boots
# (tests/src/guests.rs): Debian's cloud kernels, the newest of every series
# Debian ships (5.10, 6.1, 6.12, 6.16 to 6.19, 7.0 to 7.3), the newest in
# sid (unstable: the current series' stable releases reach it before the
# backports, so a stable update that changes a rule shows there first;
# 7.2.13 when added, beside trixie-backports' 7.2.12), and earlier
# releases on either side of the stable backports of the special-field
# hardening (6.12.111, 6.12.113, 6.12.115, 7.2.6 and 7.2.9). For each,
# OUT/<release>/ gets:
#
#   vmlinuz       the bzImage, booted under qemu
#   vmlinux.btf   its .BTF, for the names of its structs (kptr pointees);
#                 absent for the kernels marked "nobtf" below, built
#                 without one
#   version       the upstream release (6.1.0-50-cloud-amd64 is 6.1.176)
#   modules/      veth.ko and dummy.ko (uncompressed) and their .BTF
#                 (veth.btf, dummy.btf), when the package carries the
#                 modules (not the linux-binary-* packages of 6.19 and
#                 later, nor Ubuntu's unsigned images) and they have BTF
#                 (not 5.10's): the guest loads them, veth first, so that a
#                 kptr may point to a module's struct (veth_priv), as the
#                 kernel allows, and so that the order of their sysfs inodes
#                 can be held to the order of their BTF ids (two modules,
#                 loaded against the order of their names)
#   .module-order what modules/ holds, in load order ("veth dummy", or
#                 "none"); a kernel fetched before there was one lacks it
#                 and is fetched again
#   .complete     stamp: reruns skip the kernel
#
# And Ubuntu's generic kernels of the series Debian does not ship: 5.0 and
# 5.3 (bionic's HWE kernels, built without BTF: the oldest, with 64-bit
# ints before 5.1 and 4-byte enums before 5.4; both carry 5.4's "fix BTF
# limits", a million types and 16 MiB of names, which upstream 5.0 never
# got), 5.4 (focal's: 5.4.291 has BTF and refuses every kind after it),
# 5.8 (focal's HWE, without BTF), 5.11 and 5.13 (focal's HWE kernels,
# which never got the fix for member ids above 65535), 5.15 and 6.5
# (jammy's), 6.8, 6.11 and 6.14 (noble's); and Ubuntu's OEM kernels of
# four more series: 5.6 and 5.14 (focal's, without BTF), 5.17 (the first
# with TYPE_TAG, and no type-tag checks) and 6.0 (jammy's). And Ubuntu's
# 6.17 and 7.0 (noble's HWE kernels), which Debian ships too. Ubuntu
# carries patches of its own beside the stable release; those that change a
# BTF rule show as disagreements until the backport is named
# (`btfkit_sysfs::kernel::ubuntu_backports`, from Ubuntu's changelogs).
# Ubuntu's 5.19, 6.2, 6.8 and 7.0 do, kept after upstream's series ended;
# the pinned ABIs of 6.2 (26, 35), 6.8 (147, 149) and 7.0 (38) sit on
# either side of those changelog entries, and so do AWS's (6.8: 1067,
# 1069; 7.0: 1014), whose flavour numbers its ABIs its own way.
#
# Each kernel is the newest match of a pattern in a suite, read from the
# suite's package index on deb.debian.org (security.debian.org for the
# -security suites, archive.ubuntu.com for Ubuntu's) and checked against
# the index's SHA256 (no apt sources needed: sid and the backports need
# not be configured). 6.1 is pinned: the corpus's own package.
#
# Usage: guest-kernels.sh [OUT]   (default: <repo>/target/vm)
# Needs: curl, xz, dpkg-deb, sha256sum, and what vmlinuz-btf.sh needs
# (objcopy, lz4, zstd).
#
# veth and dummy have no dependencies in any of these kernels (their
# .modinfo says "depends=" and nothing else); the script refuses one that
# has.
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://security.debian.org/debian-security}
UBUNTU_MIRROR=${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
# suite  package-name pattern (an awk regex; the newest match is taken)
# [nobtf: the kernel has no vmlinux BTF]
KERNELS=(
  "bullseye           ^linux-image-5\\.10\\.0-[0-9]+-cloud-amd64$"
  "bookworm           ^linux-image-6\\.1\\.0-50-cloud-amd64$"
  "trixie             ^linux-image-6\\.12\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-security    ^linux-image-6\\.12\\.111\\+deb13-cloud-amd64$"
  "trixie-security    ^linux-image-6\\.12\\.113\\+deb13-cloud-amd64$"
  "trixie-security    ^linux-image-6\\.12\\.115\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-6\\.16\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-6\\.17\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-6\\.18\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-6\\.19\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-7\\.0\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-7\\.1\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-7\\.2\\.[0-9]+\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-7\\.2\\.6\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-7\\.2\\.9\\+deb13-cloud-amd64$"
  "trixie-backports   ^linux-image-7\\.3\\.[0-9]+\\+deb13-cloud-amd64$"
  # Whatever release sid has now, of any series.
  "sid                ^linux-image-[0-9]+\\.[0-9]+\\.[0-9]+\\+deb14-cloud-amd64$"
  # Ubuntu's generic and OEM kernels, for the series Debian does not ship.
  "bionic-updates     ^linux-image-unsigned-5\\.0\\.0-[0-9]+-generic$ nobtf"
  "bionic-updates     ^linux-image-unsigned-5\\.3\\.0-[0-9]+-generic$ nobtf"
  "focal-updates      ^linux-image-unsigned-5\\.4\\.0-[0-9]+-generic$"
  "focal-updates      ^linux-image-unsigned-5\\.6\\.0-[0-9]+-oem$ nobtf"
  "focal-updates      ^linux-image-unsigned-5\\.8\\.0-[0-9]+-generic$ nobtf"
  "focal-updates      ^linux-image-unsigned-5\\.11\\.0-[0-9]+-generic$"
  "focal-updates      ^linux-image-unsigned-5\\.13\\.0-[0-9]+-generic$"
  "focal-updates      ^linux-image-unsigned-5\\.14\\.0-[0-9]+-oem$ nobtf"
  "jammy-updates      ^linux-image-unsigned-5\\.15\\.0-[0-9]+-generic$"
  "jammy-updates      ^linux-image-unsigned-5\\.17\\.0-[0-9]+-oem$"
  "jammy-updates      ^linux-image-unsigned-5\\.19\\.0-[0-9]+-generic$"
  "jammy-updates      ^linux-image-unsigned-6\\.0\\.0-[0-9]+-oem$"
  "jammy-updates      ^linux-image-unsigned-6\\.2\\.0-[0-9]+-generic$"
  "jammy-updates      ^linux-image-unsigned-6\\.2\\.0-26-generic$"
  "jammy-updates      ^linux-image-unsigned-6\\.2\\.0-35-generic$"
  "jammy-updates      ^linux-image-unsigned-6\\.5\\.0-[0-9]+-generic$"
  "noble-updates      ^linux-image-unsigned-6\\.8\\.0-[0-9]+-generic$"
  "noble-updates      ^linux-image-unsigned-6\\.8\\.0-147-generic$"
  "noble-updates      ^linux-image-unsigned-6\\.8\\.0-149-generic$"
  "noble-updates      ^linux-image-unsigned-6\\.11\\.0-[0-9]+-generic$"
  "noble-updates      ^linux-image-unsigned-6\\.14\\.0-[0-9]+-generic$"
  "noble-updates      ^linux-image-unsigned-6\\.17\\.0-[0-9]+-generic$"
  "noble-updates      ^linux-image-unsigned-7\\.0\\.0-38-generic$"
  "noble-updates      ^linux-image-unsigned-7\\.0\\.0-[0-9]+-generic$"
  # Ubuntu's AWS flavour, with ABI numbers of its own, on either side of
  # the same backports.
  "noble-updates      ^linux-image-6\\.8\\.0-1067-aws$"
  "noble-updates      ^linux-image-6\\.8\\.0-1069-aws$"
  "noble-updates      ^linux-image-6\\.8\\.0-[0-9]+-aws$"
  "noble-updates      ^linux-image-7\\.0\\.0-1014-aws$"
  "noble-updates      ^linux-image-7\\.0\\.0-[0-9]+-aws$"
)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/target/vm}

for tool in curl xz dpkg-deb sha256sum objcopy lz4 zstd; do
  command -v "$tool" >/dev/null || { echo "guest-kernels: $tool is missing (apt-get install curl xz-utils dpkg coreutils binutils lz4 zstd)" >&2; exit 2; }
done
mkdir -p "$out/.index"
start=$SECONDS
for k in "${KERNELS[@]}"; do
  read -r suite pattern nobtf <<< "$k"
  mirror=$MIRROR
  [[ $suite == *-security ]] && mirror=$SECURITY_MIRROR
  ubuntu=
  [[ $suite == bionic* || $suite == focal* || $suite == jammy* || $suite == noble* ]] && mirror=$UBUNTU_MIRROR && ubuntu=1
  index=$out/.index/$suite
  if [ ! -s "$index" ] || [ -n "$(find "$index" -mmin +600)" ]; then
    curl -fsS --retry 3 "$mirror/dists/$suite/main/binary-amd64/Packages.xz" | xz -dc > "$index.tmp"
    mv "$index.tmp" "$index"
  fi
  # package, version, file and sha256 of each match; the newest version last
  pick=$(awk -v pat="$pattern" '
      /^Package: / { p = $2; v = f = s = "" }
      /^Version: / { v = $2 }
      /^Filename: / { f = $2 }
      /^SHA256: / { s = $2 }
      /^$/ { if (p ~ pat && f != "") print p, v, f, s; p = "" }
      END { if (p ~ pat && f != "") print p, v, f, s }' "$index" | sort -V -k2 | tail -1)
  [ -n "$pick" ] || { echo "guest-kernels: nothing matches $pattern in $suite" >&2; exit 1; }
  read -r pkg version file sha <<< "$pick"
  release=${pkg#linux-image-}
  release=${release#unsigned-}
  # Newer kernels keep the image itself in linux-binary-<release>.
  binary=$(awk -v want="linux-binary-$release" '
      /^Package: / { p = $2; f = s = "" }
      /^Filename: / { f = $2 }
      /^SHA256: / { s = $2 }
      /^$/ { if (p == want && f != "") print f, s; p = "" }' "$index" | tail -1)
  [ -n "$binary" ] && read -r file sha <<< "$binary"
  dir=$out/$release
  # Debian's package version is the upstream release (6.1.176-1); Ubuntu's
  # is not (5.15.0-204.214), and its banner names it: "... (Ubuntu
  # 5.15.0-204.214-generic 5.15.189)".
  upstream=${version%-*}
  if [ -f "$dir/.complete" ] && [ -f "$dir/.module-order" ]; then
    [ -n "$ubuntu" ] || echo "$upstream" > "$dir/version"
    echo "guest-kernels: $release is there"
    continue
  fi
  work=$(mktemp -d "$out/.work-XXXXXX")
  curl -fsS --retry 3 -o "$work/k.deb" "$mirror/$file"
  echo "$sha  $work/k.deb" | sha256sum -c --quiet - || { echo "guest-kernels: $file: SHA256 mismatch" >&2; rm -rf "$work"; exit 1; }
  dpkg-deb -x "$work/k.deb" "$work/root"
  # /boot/vmlinuz-<release> until 7.1, /usr/lib/modules/<release>/vmlinuz after.
  image=$(find "$work/root" -type f -name 'vmlinuz*' | head -1)
  [ -n "$image" ] || { echo "guest-kernels: no vmlinuz in $file" >&2; rm -rf "$work"; exit 1; }
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$image" "$dir/vmlinuz"
  BTF_OPTIONAL=$([ "$nobtf" = nobtf ] && echo 1 || echo 0) \
    bash "$repo/tests/corpus/vmlinuz-btf.sh" "$dir/vmlinuz" "$dir/vmlinux.btf" "$dir/banner"
  # The modules, in load order: those of the package that have BTF (5.10's
  # have none: the kernel finds no struct of theirs).
  loaded=()
  for m in veth dummy; do
    ko=$(find "$work/root" -type f -name "$m.ko*" | head -1)
    [ -n "$ko" ] || continue
    mkdir -p "$dir/modules"
    case $ko in
      *.ko.xz) xz -dc "$ko" > "$dir/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$ko" > "$dir/modules/$m.ko" ;;
      *.ko) cp "$ko" "$dir/modules/$m.ko" ;;
      *) echo "guest-kernels: $ko: unknown compression" >&2; exit 1 ;;
    esac
    objcopy -O binary --only-section=.modinfo "$dir/modules/$m.ko" "$work/modinfo"
    deps=$(tr '\0' '\n' < "$work/modinfo" | sed -n 's/^depends=//p')
    [ -z "$deps" ] || { echo "guest-kernels: $m.ko of $release depends on $deps" >&2; exit 1; }
    objcopy --dump-section .BTF="$dir/modules/$m.btf" "$dir/modules/$m.ko" "$work/scratch.o" 2>/dev/null || true
    if [ -s "$dir/modules/$m.btf" ]; then
      loaded+=("$m")
    else
      rm -f "$dir/modules/$m.ko" "$dir/modules/$m.btf"
    fi
  done
  if [ ${#loaded[@]} -gt 0 ]; then
    echo "${loaded[*]}" > "$dir/.module-order"
  else
    rm -rf "$dir/modules"
    echo none > "$dir/.module-order"
  fi
  rm -rf "$work"
  if [ -n "$ubuntu" ]; then
    upstream=$(sed -n 's/.*(Ubuntu [^ ]* \([0-9][0-9.]*\))$/\1/p' "$dir/banner")
    [ -n "$upstream" ] || { echo "guest-kernels: no upstream release in the banner of $release: $(cat "$dir/banner")" >&2; exit 1; }
  fi
  echo "$upstream" > "$dir/version"
  touch "$dir/.complete"
  echo "guest-kernels: $release ($suite, $version): $(stat -c %s "$dir/vmlinuz") bytes of bzImage, $( [ -f "$dir/vmlinux.btf" ] && echo "$(stat -c %s "$dir/vmlinux.btf") bytes of BTF" || echo "no BTF"), modules: $(cat "$dir/.module-order")"
done
echo "guest-kernels: ${#KERNELS[@]} kernels in $out ($((SECONDS - start)) s)"
