#!/usr/bin/env bash
# Writes the .BTF section of a bzImage's kernel to OUT, and its banner
# (`Linux version ...`, as /proc/version has it) to BANNER if given. With
# BTF_OPTIONAL=1, a kernel without .BTF writes no OUT (and only the
# banner), instead of failing.
#
# Usage: vmlinuz-btf.sh VMLINUZ OUT [BANNER]
# Needs: od, dd, objcopy, grep, and the payload's decompressor (lz4,
# zstd, xz or gzip).
#
# The payload is the bzImage's protected-mode part. Setup header fields (see
# Documentation/arch/x86/boot.rst): setup_sects at 0x1f1 (0 means 4),
# payload_offset (u32 LE) at 0x248 and payload_length at 0x24c; the payload
# starts payload_offset bytes after the (setup_sects + 1) * 512 byte setup.
set -euo pipefail
vmlinuz=$1
out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 --endian=little "$1" | tr -d ' '; }
setup_sects=$(u8 "$vmlinuz" $((0x1f1)))
[ "$setup_sects" -eq 0 ] && setup_sects=4
payload_offset=$(u32 "$vmlinuz" $((0x248)))
payload_length=$(u32 "$vmlinuz" $((0x24c)))
skip=$(( (setup_sects + 1) * 512 + payload_offset ))
dd if="$vmlinuz" of="$work/payload" iflag=skip_bytes,count_bytes skip="$skip" count="$payload_length" bs=1M status=none
magic=$(od -An -tx1 -N4 "$work/payload" | tr -d ' ')
# A compressed stream may carry trailing bytes (the kernel's size word)
# that the tools complain about; what matters is that a complete ELF came
# out, checked below.
case "$magic" in
  02214c18) lz4 -dc "$work/payload" > "$work/vmlinux.elf" 2>/dev/null || true ;;
  28b52ffd) zstd -dcq "$work/payload" > "$work/vmlinux.elf" 2>/dev/null || true ;;
  fd377a58) xz -dcq "$work/payload" > "$work/vmlinux.elf" 2>/dev/null || true ;;
  1f8b*) gzip -dcq "$work/payload" > "$work/vmlinux.elf" 2>/dev/null || true ;;
  *) echo "vmlinuz-btf: unexpected payload magic $magic in $vmlinuz (known: lz4, zstd, xz, gzip)" >&2; exit 1 ;;
esac
[ "$(od -An -tx1 -N4 "$work/vmlinux.elf" | tr -d ' ')" = 7f454c46 ] || { echo "vmlinuz-btf: no ELF in the payload of $vmlinuz" >&2; exit 1; }
rm -f "$out"
objcopy --dump-section .BTF="$out" "$work/vmlinux.elf" "$work/scratch.o" 2>/dev/null || true
if [ ! -s "$out" ]; then
  rm -f "$out"
  [ "${BTF_OPTIONAL:-}" = 1 ] || { echo "vmlinuz-btf: $vmlinuz has no .BTF" >&2; exit 1; }
fi
if [ -n "${3:-}" ]; then
  grep -a -m1 -o 'Linux version [0-9][ -~]*' "$work/vmlinux.elf" > "$3" || { echo "vmlinuz-btf: no banner in $vmlinuz" >&2; exit 1; }
fi
