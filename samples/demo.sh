#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The end-to-end sample: acquire the sample disk (through a read-only loop device when run as
# root), inspect the record, verify the image, check it with stock tools, acquire again from a
# pipe into segments, and show that a single changed byte is caught.
#   usage: samples/demo.sh [BIN_DIR]    (BIN_DIR defaults to build/release/tools)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(cd "${1:-$here/../build/release/tools}" && pwd)
work=$(cd "$here/.." && pwd)/build/demo
export PATH="$bin:$PATH"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$work" && mkdir -p "$work/evidence" && cd "$work"

step "1. The evidence: a deterministic sample disk (test data, not from a real case)"
"$here/make-sample-disk.sh" sample-disk.img
show sha256sum -c "$here/SHA256SUMS"

step "2. Acquire it"
source=sample-disk.img
if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null &&
  loop=$(losetup -f --show -r sample-disk.img 2>/dev/null); then
  trap 'losetup -d "$loop"' EXIT
  echo "(attached read-only as $loop, so it is imaged as a block device)"
  source=$loop
else
  echo "(not root or no loop device: imaging the file itself)"
fi
show custody-acquire --format raw "$source" -o evidence/disk1 --case DEMO-2026-17 --evidence E-001 \
  --examiner "Demo Examiner" --description "sample disk" --notes "seal bag 0042"

step "3. What the record says"
show custody-info evidence/disk1.acquisition.json

step "4. Verify the image against its record"
show custody-verify evidence/disk1.acquisition.json

step "5. Anyone can check it without custody, with coreutils and jq"
want=$(jq -r .hashes.sha256 evidence/disk1.acquisition.json)
got=$(sha256sum evidence/disk1.raw | cut -d' ' -f1)
echo "record sha256: $want"
echo "sha256sum:     $got"
[ "$want" = "$got" ] && echo "match"

step "6. Acquire from a pipe into 2 MiB segments, and verify"
cat sample-disk.img | show custody-acquire --format raw - -o evidence/piped --segment-size 2M -q
show custody-verify evidence/piped.acquisition.json
echo "cat evidence/piped.0* | sha256sum:"
cat evidence/piped.0* | sha256sum

step "7. One changed byte is caught (exit status 1)"
cp evidence/piped.* "$work/" && cd "$work"
printf 'X' | dd of=piped.003 bs=1 seek=1000 conv=notrunc status=none
set +e
custody-verify piped.acquisition.json
status=$?
set -e
echo "custody-verify exit status: $status"
[ "$status" -eq 1 ]

step "Demo complete: evidence in $work/evidence"
