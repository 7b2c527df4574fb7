#!/usr/bin/env bash
# Builds a /sys/kernel/btf-shaped corpus from Debian's cloud kernel package:
#
#   OUT/vmlinux        the kernel's raw .BTF
#   OUT/<module>       one raw split .BTF per module, named as the kernel
#                      names modules (file name without .ko, '-' -> '_')
#   OUT/.ko/           a few real .ko files, for the ELF input tests
#   OUT/.no-btf        modules without a .BTF section (one per line)
#   OUT/.complete      stamp: the corpus is whole; reruns exit at once
#
# Usage: build-corpus.sh [OUT]   (default: <repo>/target/corpus/cloud-6.1.0-50)
# Needs: apt-get (download only), dpkg-deb, lz4, objcopy (binutils).
# Shares the bzImage extraction with tests/vm/guest-kernels.sh (vmlinuz-btf.sh).
set -euo pipefail

PKG=linux-image-6.1.0-50-cloud-amd64
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-$repo/target/corpus/cloud-6.1.0-50}

if [ -f "$out/.complete" ]; then
  echo "corpus: $out is complete ($(ls "$out" | wc -l) files)"
  exit 0
fi

for tool in apt-get dpkg-deb lz4 objcopy; do
  command -v "$tool" >/dev/null || { echo "corpus: $tool is missing (apt-get install lz4 binutils dpkg)" >&2; exit 2; }
done

start=$SECONDS
work=$(dirname "$out")/.work-$$
rm -rf "$work"
mkdir -p "$work/pkg" "$work/out/.ko"
trap 'rm -rf "$work"' EXIT

echo "corpus: downloading $PKG"
download() {
  (cd "$work/pkg" && apt-get download -q "$PKG" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
}
download
# A machine whose packages are all installed may have empty package lists
# (.ci/run updates them only when it installs something): update, retry.
if ! ls "$work"/pkg/*.deb > /dev/null 2>&1; then
  echo "corpus: $PKG not in the package lists; apt-get update, then again"
  apt-get update -qq
  download
fi
deb=$(ls "$work"/pkg/*.deb)
dpkg-deb -x "$deb" "$work/root"

# vmlinux: the .BTF of the bzImage's kernel.
bash "$here/vmlinuz-btf.sh" "$(ls "$work"/root/boot/vmlinuz-*)" "$work/out/vmlinux"

# Modules: every .ko's .BTF section.
: > "$work/out/.no-btf"
count=0
while IFS= read -r ko; do
  base=$(basename "$ko")
  base=${base%.ko}
  name=${base//-/_}
  if objcopy --dump-section .BTF="$work/out/$name" "$ko" "$work/scratch.o" 2>/dev/null \
     && [ -s "$work/out/$name" ]; then
    count=$((count + 1))
  else
    rm -f "$work/out/$name"
    echo "$name" >> "$work/out/.no-btf"
  fi
done < <(find "$work/root/lib/modules" -name '*.ko' | sort)

# A few real modules for the ELF tests: a big one and two small ones.
for m in btrfs.ko dummy.ko veth.ko; do
  f=$(find "$work/root/lib/modules" -name "$m" -print -quit)
  [ -n "$f" ] && cp "$f" "$work/out/.ko/"
done

mkdir -p "$(dirname "$out")"
rm -rf "$out"
mv "$work/out" "$out"
touch "$out/.complete"
bytes=$(cat "$out"/[!.]* | wc -c)
echo "corpus: $out: vmlinux + $count modules, $bytes bytes of BTF, $(wc -l < "$out/.no-btf") without BTF, $((SECONDS - start)) s"
