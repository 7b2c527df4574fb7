#!/usr/bin/env bash
# Instruction counts of validation under callgrind: deterministic, so a
# change of a few percent shows even on a shared machine whose wall times
# drift by tens of percent. Counts are inclusive of everything validation
# calls (name marks, both passes, type tags), not of reading the files.
#
#   user:     btfkit validate --profile user of the corpus vmlinux, on
#             its own kernel's rules (6.1)
#   user-6.18: the same on 6.18's rules, the special-field layer included
#             (the criterion bench validates on the latest rules)
#   vmlinux:  the same blob under the base rules (no resolve pass)
#   modules:  btfkit validate --all-modules (validate_impl over every
#             module, all threads summed; the issue-5 workload)
#
# Usage: tests/bench/instructions.sh [CORPUS_DIR]   (needs valgrind)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
corpus=${1:-$repo/target/corpus/cloud-6.1.0-50}
corpus=$(cd "$corpus" && pwd)
command -v valgrind > /dev/null || { echo "needs valgrind: apt-get install valgrind" >&2; exit 2; }
[ -f "$corpus/vmlinux" ] || { echo "no $corpus/vmlinux: run tests/corpus/build-corpus.sh" >&2; exit 2; }
(cd "$repo" && cargo build -q --release --bin btfkit)
bin=$repo/target/release/btfkit
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# count FUNCTION COMMAND...: inclusive instructions of FUNCTION, all threads.
count() {
  local f=$1
  shift
  # A run that fails (invalid input, a crash) counts nothing: say so.
  if ! valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" > /dev/null 2> "$tmp/err"; then
    echo "failed: $* (see below)" >&2
    tail -5 "$tmp/err" >&2
    exit 1
  fi
  callgrind_annotate --inclusive=yes "$tmp/cg.out" 2> /dev/null |
    awk -v f="$f" '!done && index($0, f) { gsub(",", "", $1); print $1; done = 1 }'
}
# report NAME FUNCTION COMMAND...: one line, or a failure that stops the
# script (a count taken in a subshell cannot stop it by itself).
report() {
  local name=$1 n
  shift
  n=$(count "$@") || exit 1
  [ -n "$n" ] || { echo "$name: no count for $1 in the profile (renamed or inlined?)" >&2; exit 1; }
  printf '%-10s %12s\n' "$name" "$n"
}
printf '%-10s %12s\n' workload instructions
report user 'btfkit::validate::validate_impl ' "$bin" validate --profile user --kernel 6.1 "$corpus/vmlinux"
report user-6.18 'btfkit::validate::validate_impl ' "$bin" validate --profile user --kernel 6.18 "$corpus/vmlinux"
report vmlinux 'btfkit::validate::validate_impl ' "$bin" validate --profile vmlinux --kernel 6.1 "$corpus/vmlinux"
report modules 'btfkit::validate::validate_impl ' "$bin" validate --all-modules --kernel 6.1 --sysfs "$corpus"
