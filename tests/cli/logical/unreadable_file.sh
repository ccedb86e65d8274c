#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A file that cannot be read is listed as a defect with its reason and the tool exits 3; the other
# files are taken. As a normal user a chmod 000 file does it. Root reads such a file anyway, so
# as root we use what fails for root too: a FUSE file whose first sector gives EIO (faulty_fuse,
# mounted inside the tree) and, where sysfs has one, a write-only attribute (open for reading is
# refused with EACCES even for root).
source "$(dirname "$0")/../lib.sh"

mkdir -p tree
printf 'fine' >tree/fine.txt
expected=()
if [ "$(id -u)" -ne 0 ]; then
  printf 'locked' >tree/locked.txt && chmod 000 tree/locked.txt
  cleanup_hooks+=("chmod 644 $WORK/tree/locked.txt")
  expected+=("tree/locked.txt: cannot open it: Permission denied")
fi
fuse="${CUSTODY_TEST_TOOLS:-}/faulty_fuse"
if [ "$(id -u)" -eq 0 ] && [ -e /dev/fuse ] && [ -x "$fuse" ]; then
  head -c 65536 /dev/urandom >backing.img
  mkdir tree/mnt
  "$fuse" backing.img 0-127 tree/mnt -f -o ro &
  fuse_pid=$!
  cleanup_hooks+=("umount -l $WORK/tree/mnt; kill $fuse_pid 2>/dev/null")
  for _ in $(seq 50); do [ -e tree/mnt/disk.img ] && break; sleep 0.1; done
  if [ -e tree/mnt/disk.img ]; then
    expected+=("tree/mnt/disk.img: read error at byte 0: Input/output error")
  else
    rmdir tree/mnt 2>/dev/null || true
  fi
fi
sources=(tree)
writeonly=$(find /sys/bus /sys/module -maxdepth 3 -type f -perm 0200 2>/dev/null | head -n1 || true)
if [ "$(id -u)" -eq 0 ] && [ -n "$writeonly" ] && ! head -c1 "$writeonly" >/dev/null 2>&1; then
  sources+=("$writeonly")
  expected+=("$(basename "$writeonly"): cannot open it: Permission denied")
fi
[ ${#expected[@]} -gt 0 ] || skip "no way to make a file unreadable here (root without FUSE or sysfs)"

run "$ACQUIRE" --logical "${sources[@]}" -o out --hash sha256
expect_rc 3
expect_stderr "completed with defects"
for line in "${expected[@]}"; do expect_stderr "$line"; done
unzip -p out.aff4 custody/files.json >files.json
[ "$(jq '.defects | length' files.json)" -eq ${#expected[@]} ] || fail "defects not all listed"
jq -e '.entries[] | select(.path == "tree/fine.txt") | .hashes.sha256' files.json >/dev/null ||
  fail "the readable file was not taken"
run "$VERIFY" out.aff4
expect_rc 0
expect_stdout "could not be taken completely"
echo "PASS"
