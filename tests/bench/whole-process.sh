#!/usr/bin/env bash
# Whole-process benchmarks against peers, measured in one run so that the
# ratios hold on a noisy shared machine: the two commands of a comparison
# run alternately, and each gets the median of N runs.
#
#   dump:     btfkit dump   vs  bpftool btf dump file   (vmlinux, to /dev/null)
#   validate: btfkit validate --profile user  vs  the kernel's own
#             bpf(BPF_BTF_LOAD) of the same bytes (root only)
#
# Usage: tests/bench/whole-process.sh [BTF_FILE] [RUNS]
#   BTF_FILE defaults to the corpus vmlinux; RUNS to 21.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
file=${1:-$repo/target/corpus/cloud-6.1.0-50/vmlinux}
runs=${2:-21}
bin=$repo/target/release/btfkit
(cd "$repo" && cargo build -q --release --bin btfkit)
[ -f "$file" ] || { echo "no $file: run tests/corpus/build-corpus.sh" >&2; exit 2; }

# Wall time in ms of one run of a command ($EPOCHREALTIME: no fork).
once_us() {
  local s e
  s=${EPOCHREALTIME/./}
  $1 > /dev/null
  e=${EPOCHREALTIME/./}
  echo $((e - s))
}
median() { sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { printf "%.2f", $1 / 1000 }'; }

# median wall time in ms of a command, over $runs runs
median_ms() {
  local t=()
  for _ in $(seq "$runs"); do t+=("$(once_us "$*")"); done
  printf '%s\n' "${t[@]}" | median
}

# Median wall times in ms of two commands (each one string, split on
# spaces), run alternately, A B A B ..., so that a shared machine whose
# speed drifts slows both alike; prints "A B".
pair_ms() {
  local a=() b=()
  for _ in $(seq "$runs"); do
    a+=("$(once_us "$1")")
    b+=("$(once_us "$2")")
  done
  echo "$(printf '%s\n' "${a[@]}" | median) $(printf '%s\n' "${b[@]}" | median)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "file: $file ($(stat -c %s "$file") bytes), $runs runs each, median wall ms"
read -r ours theirs < <(pair_ms "$bin dump $file" "bpftool btf dump file $file")
echo "dump      btfkit $ours   bpftool $theirs   ratio btfkit/bpftool $(ratio "$ours" "$theirs")"

kernel_load() {
  python3 - "$1" <<'PY'
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
data = open(sys.argv[1], "rb").read()
buf = ctypes.create_string_buffer(data, len(data))
attr = struct.pack("<QQIII", ctypes.addressof(buf), 0, len(data), 0, 0) + b"\0" * 100
a = ctypes.create_string_buffer(attr, len(attr))
fd = libc.syscall(321, 18, a, len(attr))
if fd < 0:
    sys.exit("kernel rejected: errno %d" % ctypes.get_errno())
os.close(fd)
PY
}
if [ "$(id -u)" = 0 ]; then
  read -r ours theirs < <(pair_ms "$bin validate --profile user --kernel 6.1 $file" "kernel_load $file")
  base=$(median_ms python3 -c pass)
  echo "validate  btfkit(user) $ours   kernel BPF_BTF_LOAD via python $theirs (python start-up alone $base)"
else
  echo "validate  skipped: the kernel comparison needs root"
fi

# merge: vmlinux + every module of the corpus into one standalone BTF,
# reading every file and writing the output (the issue's budget: 60 ms).
corpus_dir=$(dirname "$file")
if [ -f "$corpus_dir/.complete" ]; then
  mapfile -t mods < <(find "$corpus_dir" -maxdepth 1 -type f ! -name vmlinux ! -name '.*' | sort)
  out=$(mktemp)
  ours=$(median_ms "$bin" merge --base "$corpus_dir/vmlinux" -o "$out" "${mods[@]}")
  split=$(median_ms "$bin" merge --split --base "$corpus_dir/vmlinux" -o "$out" "${mods[@]}")
  echo "merge     btfkit flat $ours   split $split   (vmlinux + ${#mods[@]} modules, $(stat -c %s "$out") bytes split; budget 60)"
  rm -f "$out"
fi

# validate --all-modules vs a libbpf loader taking in the same directory
# (btf__parse + btf__parse_split per module, tests/bench/libbpf-parse-all.c,
# Debian's libbpf-dev). Time ratio budget 0.7; peak RSS no higher.
if [ -f "$corpus_dir/.complete" ] && [ -f /usr/include/bpf/btf.h ]; then
  harness=$repo/target/libbpf-parse-all
  cc -O2 -o "$harness" "$here/libbpf-parse-all.c" -lbpf
  read -r ours theirs < <(pair_ms "$bin validate --all-modules --sysfs $corpus_dir" "$harness $corpus_dir")
  rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
  ours_rss=$(for _ in 1 2 3 4 5; do rss "$bin" validate --all-modules --sysfs "$corpus_dir"; done | sort -n | sed -n 3p)
  theirs_rss=$(for _ in 1 2 3 4 5; do rss "$harness" "$corpus_dir"; done | sort -n | sed -n 3p)
  echo "modules   btfkit validate --all-modules $ours   libbpf parse-all $theirs   ratio $(ratio "$ours" "$theirs") (budget 0.7); peak RSS KB btfkit $ours_rss libbpf $theirs_rss"
else
  echo "modules   skipped: needs the corpus and libbpf-dev"
fi
