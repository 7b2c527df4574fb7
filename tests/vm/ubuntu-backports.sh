#!/usr/bin/env bash
# The evidence behind btfkit_sysfs::kernel::ubuntu_backports: for each
# flavour of an Ubuntu kernel series, the first ABI whose changelog lists
# each BTF rule change that btfkit knows as a backport (Backport::name).
#
# The changelog comes from the newest linux-buildinfo-<series>-<abi>-<flavour>
# package of the suite (small, and built from the flavour's own source, so
# its changelog is the flavour's, with its parent's entries folded in). A
# changelog keeps only the recent entries; each line says how far back it
# goes: a change not found may be older than that, or folded into a
# rebase without its title (not found is no proof of absence; boot it).
# jammy's 5.19 and 6.2 are HWE builds that skipped ABIs: their source's
# debian.master/changelog dates two changes earlier (5.19: ret-not-source
# at 30, arg-not-source at 39; 6.2: rb-tree at 27), to ABIs jammy never
# had.
#
# Usage: ubuntu-backports.sh [SUITE SERIES]...
#   default: noble-updates 6.8.0, noble-updates 7.0.0, noble-updates 6.17.0,
#            jammy-updates 6.2.0, jammy-updates 5.19.0
# Prints: series flavour, the suite's ABIs, how far back the changelog
# goes, and name@ABI for each change found.
# Needs: curl, xz, dpkg-deb, gzip. Not run by the tests (it reads the
# archive as it is today); rerun it when Ubuntu publishes new ABIs.
set -euo pipefail

MIRROR=${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
# name  commit title, as the changelogs list it
CHANGES=(
  "ret-not-source|bpf: prevent decl_tag from being referenced in func_proto"
  "arg-not-source|bpf: Prevent decl_tag from being referenced in func_proto arg"
  "rb-tree|bpf: Add basic bpf_rb_{root,node} support"
  "dots|bpf/btf: Accept function names that contain dots"
  "one-seen-set|bpf: Preserve unique-field state across nested structs"
  "refcount-unique|bpf: Mark bpf_refcount field as unique"
  "ownership-depth|bpf: Bound ownership depth through local kptrs and graph roots"
)
[ $# -gt 0 ] || set -- noble-updates 6.8.0 noble-updates 7.0.0 noble-updates 6.17.0 jammy-updates 6.2.0 jammy-updates 5.19.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
titles=$(printf '%s\n' "${CHANGES[@]}")
while [ $# -ge 2 ]; do
  suite=$1 series=$2
  shift 2
  [ -s "$work/$suite" ] || curl -fsS --retry 3 "$MIRROR/dists/$suite/main/binary-amd64/Packages.xz" | xz -dc > "$work/$suite"
  # flavour abi file, for every buildinfo package of the series
  awk -v pre="linux-buildinfo-$series-" '
      /^Package: / { p = $2; f = "" }
      /^Filename: / { f = $2 }
      /^$/ {
        if (index(p, pre) == 1 && f != "") {
          rest = substr(p, length(pre) + 1)
          abi = rest; sub(/-.*/, "", abi)
          flavour = substr(rest, length(abi) + 2)
          if (abi ~ /^[0-9]+$/) print flavour, abi, f
        }
        p = ""
      }' "$work/$suite" | sort -k1,1 -k2,2n > "$work/list"
  for flavour in $(cut -d' ' -f1 "$work/list" | sort -u); do
    abis=$(awk -v fl="$flavour" '$1 == fl { print $2 }' "$work/list" | sort -un | tr '\n' ' ')
    file=$(awk -v fl="$flavour" '$1 == fl { f = $3 } END { print f }' "$work/list")
    curl -fsS --retry 3 -o "$work/b.deb" "$MIRROR/$file"
    dpkg-deb --fsys-tarfile "$work/b.deb" | tar -xO --wildcards '*/changelog.Debian.gz' | gzip -dc > "$work/changelog"
    # Newest entry first: a title's last match is its oldest entry.
    found=$(awk -v series="$series" -v titles="$titles" '
        BEGIN { n = split(titles, t, "\n"); for (i = 1; i <= n; i++) { split(t[i], kv, "|"); name[i] = kv[1]; title[i] = kv[2] } }
        /^[^ ].* \([0-9]+\.[0-9]+\.[0-9]+-[0-9]+\./ {
          v = $2; sub(/^\(/, "", v); split(v, a, "-"); abi = a[2]; sub(/\..*/, "", abi)
          here = (a[1] == series) ? abi : a[1] "-" abi
          if (a[1] == series) oldest = abi
          next
        }
        {
          line = $0; sub(/^ *- /, "", line)
          for (i = 1; i <= n; i++) if (line == title[i]) first[i] = here
        }
        END {
          out = ""
          for (i = 1; i <= n; i++) if (i in first) out = out " " name[i] "@" first[i]
          printf "back to %s:%s\n", (oldest == "" ? "?" : oldest), (out == "" ? " -" : out)
        }' "$work/changelog")
    echo "$series $flavour: ABIs $abis| changelog $found"
  done
done
