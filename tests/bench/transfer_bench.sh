#!/usr/bin/env bash
# transfer_bench.sh - a large transfer package round trip (pack, encrypt, receive) and the peak
# memory of each step: the payload is many times larger than the memory any step may use.
#   usage: tests/bench/transfer_bench.sh [--size SIZE] [--dir DIR] [--bin DIR]
# Defaults: 3G of evidence, scratch under /var/tmp (needs about 5x SIZE free), binaries from
# build/release/tools. Prints seconds, MB/s and peak RSS per step; exits non-zero if a step fails,
# the received hashes differ, or a step's peak RSS exceeds 256 MiB.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
size=3G dir=/var/tmp bin=$repo/build/release/tools
while [ $# -gt 0 ]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "usage: $0 [--size SIZE] [--dir DIR] [--bin DIR]" >&2; exit 64 ;;
  esac
done
bytes=$(numfmt --from=iec "$size")
work=$(mktemp -d "$dir/custody-transfer-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
bash "$repo/samples/keys/make-test-identities.sh" keys >/dev/null
limit_kib=$((256 * 1024))
step() { # NAME COMMAND...: runs it under /usr/bin/time, prints seconds, MB/s and peak RSS
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o time.out "$@" >/dev/null
  read -r seconds rss_kib <time.out
  printf '%-28s %8.1f s %8.0f MB/s %8.0f MiB peak RSS\n' "$name" "$seconds" \
    "$(echo "$bytes / 1000000 / $seconds" | bc -l)" "$(echo "$rss_kib / 1024" | bc -l)"
  [ "$rss_kib" -le "$limit_kib" ] || { echo "$name: peak RSS above 256 MiB" >&2; exit 1; }
}
echo "payload: $size ($bytes bytes) of incompressible data in one AFF4 container"
openssl enc -aes-128-ctr -pass pass:bench -nosalt -pbkdf2 </dev/zero 2>/dev/null |
  head -c "$bytes" >source.bin || true
"$bin/custody-acquire" source.bin -o evidence -q --compression none \
  --seal-key keys/examiner.key --seal-cert keys/examiner.pem
rm source.bin
sender=(--key keys/examiner.key --cert keys/examiner.pem)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)
step "pack (tar)" "$bin/custody-pack" evidence.aff4 -o plain.tar "${sender[@]}" -q
step "receive (tar)" "$bin/custody-receive" plain.tar -o got-plain "${receiver[@]}" -q
rm -rf plain.tar got-plain got-plain.receipt.json*
step "pack (zip, encrypted)" "$bin/custody-pack" evidence.aff4 -o sealed.zip "${sender[@]}" \
  --encrypt-to keys/witness.pem -q
step "receive (zip, encrypted)" "$bin/custody-receive" sealed.zip.enc.json -o got-sealed \
  "${receiver[@]}" -q
want=$(unzip -p evidence.aff4 custody/acquisition.json | jq -r .hashes.sha256)
got=$(unzip -p got-sealed/data/evidence.aff4 custody/acquisition.json | jq -r .hashes.sha256)
[ "$want" = "$got" ] || { echo "the received image hash differs" >&2; exit 1; }
echo "received image sha256 $got (as sent)"
