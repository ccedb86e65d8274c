#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# custody-mount benchmark: sequential reads of MOUNTPOINT/image.raw against custody-export -o -
# of the same container (issue target: at least 0.6x), and random 4 KiB reads, cold and warm.
# A benchmark, not a test: run it on a quiet machine. As root the page cache is dropped before
# every timed run, so the container is read from the disk each time; otherwise it is not (said).
#   usage: tests/bench/mount_bench.sh [--size SIZE] [--runs N] [--bin DIR] [--dir DIR]
set -euo pipefail
prog=mount_bench.sh
here=$(cd "$(dirname "$0")" && pwd)
size=1G runs=3 bin="$here/../../build/release/tools" dir=/var/tmp
while [ $# -gt 0 ]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "usage: $prog [--size SIZE] [--runs N] [--bin DIR] [--dir DIR]" >&2; exit 2 ;;
  esac
done
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 2; }
[ -x "$bin/custody-mount" ] || die "no custody-mount in $bin (cmake --build --preset release)"
bin=$(cd "$bin" && pwd)
[ -c /dev/fuse ] || die "no /dev/fuse"
bytes=$(numfmt --from=iec "$size")
work=$(mktemp -d "$dir/custody-mount-bench-XXXXXX")
trap 'fusermount3 -u -z "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"

# Half pseudo-random, half text: compressible as evidence often is, not trivially.
python3 - "$bytes" <<'EOF'
import random, sys
total, block = int(sys.argv[1]), 1 << 20
rng = random.Random(17)
with open("input.bin", "wb") as out:
    written = 0
    while written < total:
        piece = rng.randbytes(block // 2) + (b"custody evidence line %08d\n" % written) * (block // 2 // 30)
        piece = piece[: min(block, total - written)]
        out.write(piece)
        written += len(piece)
EOF
"$bin/custody-acquire" input.bin -o c -q
rm -f input.bin
mkdir mnt

cold() {
  sync
  if [ "$(id -u)" -eq 0 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
}
seconds() { # COMMAND... -> wall seconds on stdout
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

export_times="" mount_times=""
for _ in $(seq "$runs"); do
  cold
  export_times+=" $(seconds "$bin/custody-export" c.aff4 -o - -q)"
  cold
  "$bin/custody-mount" c.aff4 mnt --purpose "benchmark" -q 2>/dev/null
  mount_times+=" $(seconds cat mnt/image.raw)"
  "$bin/custody-mount" -u mnt -q
done
export_s=$(median <<<"$export_times")
mount_s=$(median <<<"$mount_times")

cold
"$bin/custody-mount" c.aff4 mnt --purpose "benchmark" -q 2>/dev/null
random=$(python3 - mnt/image.raw <<'EOF'
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
pages = os.fstat(fd).st_size // 4096
rng = random.Random(1)
offsets = [rng.randrange(pages) * 4096 for _ in range(20000)]
rates = []
for _ in range(2):
    start = time.time()
    for offset in offsets:
        os.pread(fd, 4096, offset)
    rates.append(len(offsets) / (time.time() - start))
print(f"{rates[0]:.0f} {rates[1]:.0f}")
EOF
)
"$bin/custody-mount" -u mnt -q

mb() { echo "$bytes / $1 / 1000000" | bc -l | xargs printf '%.0f'; }
printf 'image: %s bytes (Snappy AFF4), median of %s runs%s\n' "$bytes" "$runs" \
  "$([ "$(id -u)" -eq 0 ] && echo ', page cache dropped before each' || echo ', page cache NOT dropped (not root)')"
printf 'custody-export -o -       %6.2f s  %5s MB/s\n' "$export_s" "$(mb "$export_s")"
printf 'cat MOUNTPOINT/image.raw  %6.2f s  %5s MB/s  = %.2fx export (target >= 0.6x)\n' \
  "$mount_s" "$(mb "$mount_s")" "$(echo "$export_s / $mount_s" | bc -l)"
read -r cold_rate warm_rate <<<"$random"
printf 'random 4 KiB reads: %s/s cold, %s/s warm (the same offsets again)\n' "$cold_rate" "$warm_rate"
