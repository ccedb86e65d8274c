#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Makes fs-image.img: a 4 MiB ext2 file system holding a few small files, for the E01 demo and
# tests (fls and icat read it). No mount and no root: mke2fs -d copies a directory in. Every
# value that would vary is pinned (UUID, hash seed, E2FSPROGS_FAKE_TIME, file times, modes,
# owners), so the image is byte for byte the same on every machine; SHA256SUMS pins it.
#   usage: make-fs-image.sh OUTPUT
set -euo pipefail
out=${1:?usage: make-fs-image.sh OUTPUT}
export PATH="$PATH:/sbin:/usr/sbin"
command -v mke2fs >/dev/null && command -v debugfs >/dev/null ||
  { echo "make-fs-image: mke2fs and debugfs are needed (Debian package e2fsprogs)" >&2; exit 1; }
export E2FSPROGS_FAKE_TIME=1704164645  # 2024-01-02 03:04:05 UTC
stamp=202401020304.05
uuid=6a1b6f5e-3c2d-4e8f-9a0b-1c2d3e4f5a6b
tree=$(mktemp -d)
trap 'rm -rf "$tree" "$tree.cmds"' EXIT

mkdir -p "$tree/docs" "$tree/photos"
printf 'CUSTODY SAMPLE FILE SYSTEM - TEST EVIDENCE ONLY - NOT FROM A REAL CASE\n' >"$tree/README.txt"
printf 'Meeting at the harbour, pier 4, Tuesday 06:00.\n' >"$tree/docs/note.txt"
printf 'ledger\n2024-01-01;1000.00;cash\n2024-01-02;250.50;transfer\n' >"$tree/docs/ledger.csv"
# A file larger than one block run, so that readers follow block pointers.
for i in $(seq 1 600); do printf 'line %04d of a longer file\n' "$i"; done >"$tree/photos/long.txt"
find "$tree" -type d -exec chmod 0755 {} +
find "$tree" -type f -exec chmod 0644 {} +
TZ=UTC find "$tree" -exec touch -h -t "$stamp" {} +

rm -f "$out"
truncate -s 4M "$out"
mke2fs -q -F -t ext2 -b 1024 -N 32 -L CUSTODY-SAMPLE -U "$uuid" \
  -E "hash_seed=$uuid,root_owner=0:0" -d "$tree" "$out"
# mke2fs -d copies ctime (which touch cannot set) and the builder's uid/gid: pin them.
(cd "$tree" && find . -mindepth 1 | sed 's|^\.||' | LC_ALL=C sort) | while read -r path; do
  printf 'sif %s ctime %s\nsif %s uid 0\nsif %s gid 0\n' "$path" "${stamp/./}" "$path" "$path"
done >"$tree.cmds"
debugfs -w -f "$tree.cmds" "$out" >/dev/null 2>&1
