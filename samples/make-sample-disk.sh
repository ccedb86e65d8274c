#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes samples' demo evidence, byte for byte the same on every machine: an 8 MiB "disk" of
# pseudo-random data (AES-128-CTR keystream from a fixed passphrase) with a 2 MiB run of zeros and
# a readable label in its first sector. SHA256SUMS beside this script holds its digest.
#   usage: make-sample-disk.sh OUTPUT
set -euo pipefail
out=${1:?usage: make-sample-disk.sh OUTPUT}
size=$((8 * 1024 * 1024))
# openssl is killed by SIGPIPE once head has its bytes; that is expected.
openssl enc -aes-128-ctr -pass pass:custody-sample-disk -nosalt -pbkdf2 -iter 10000 \
  </dev/zero 2>/dev/null | head -c "$size" >"$out" || true
dd if=/dev/zero of="$out" bs=1M seek=3 count=2 conv=notrunc status=none
printf 'CUSTODY SAMPLE DISK - TEST EVIDENCE ONLY - NOT FROM A REAL CASE\n' |
  dd of="$out" bs=1 seek=0 conv=notrunc status=none
[ "$(stat -c %s "$out")" -eq "$size" ] || { echo "make-sample-disk: short output" >&2; exit 1; }
