# A disk with bad sectors (a FUSE file that fails reads of chosen sectors, and a loop device on
# it): exactly those sectors are reported and filled, every other byte is kept, the tool exits 3,
# and verify and info say that the image has unreadable sectors. The source is never changed.
source "$(dirname "$0")/../lib.sh"
need_root "FUSE and losetup"
[ -e /dev/fuse ] || skip "no /dev/fuse"
fuse="${CUSTODY_TEST_TOOLS:-}/faulty_fuse"
[ -x "$fuse" ] || skip "faulty_fuse not built (libfuse3-dev missing)"
make_source disk.img 4194304
before=$(digest sha256 disk.img)
mkdir mnt
"$fuse" disk.img 80-95,3000,8191 mnt -f -o ro &
fuse_pid=$!
cleanup_hooks+=("umount -l $WORK/mnt; kill $fuse_pid 2>/dev/null")
for _ in $(seq 50); do [ -e mnt/disk.img ] && break; sleep 0.1; done
[ -e mnt/disk.img ] || skip "could not mount the FUSE file system here"

# Expected raw image: the disk with zeros in the bad sectors.
cp disk.img expected.img
for range in 80:16 3000:1 8191:1; do
  dd if=/dev/zero of=expected.img bs=512 seek="${range%:*}" count="${range#*:}" conv=notrunc status=none
done

run "$ACQUIRE" --format raw mnt/disk.img -o raw --retries 1
expect_rc 3
expect_stderr "completed with defects: 18 unreadable sectors in 3 ranges"
expect_stderr "sectors 80-95 (16 sectors of 512 bytes, bytes 40960..49152): Input/output error"
expect_stderr "sectors 3000-3000"
expect_stderr "sectors 8191-8191"
cmp -s raw.raw expected.img || fail "the raw image is not the disk with exactly those sectors zeroed"
jq -e '[.defects[] | [.first_sector, .sectors, .errno]] == [[80,16,5],[3000,1,5],[8191,1,5]]' \
  raw.acquisition.json >/dev/null || fail "defect list in the record"
[ "$(json_field .hashes.sha256 raw.acquisition.json)" = "$(digest sha256 expected.img)" ] ||
  fail "the hash must cover the image as written, fills included"
run "$VERIFY" raw.acquisition.json
expect_rc 0
expect_stdout "VERIFIED"
expect_stdout "18 sectors could not be read at acquisition"
run "$INFO" raw.acquisition.json
expect_stdout "sectors 80-95"

# --fill and --max-errors
run "$ACQUIRE" --format raw mnt/disk.img -o filled --fill 0xff --retries 0
expect_rc 3
[ "$(od -An -tx1 -j $((80 * 512)) -N1 filled.raw | tr -d ' ')" = ff ] || fail "--fill 0xff"
run "$ACQUIRE" --format raw mnt/disk.img -o limited --max-errors 10 --retries 0
expect_rc 74
expect_stderr "more than 10 unreadable sectors"

# AFF4: the defects map to aff4:UnreadableData; verify and info report them.
run "$ACQUIRE" mnt/disk.img -o img --retries 0
expect_rc 3
run "$VERIFY" img.aff4
expect_rc 0
expect_stdout "9216 bytes could not be read at acquisition"
"$INFO" --json img.aff4 | jq -e '.map.unreadable_ranges == [{"offset":40960,"length":8192},{"offset":1536000,"length":512},{"offset":4193792,"length":512}]' \
  >/dev/null || fail "the container's map must hold exactly the unreadable sectors"
jq -e '.record.defects | length == 3' <("$INFO" --json img.aff4) >/dev/null || fail "record defects"

# The same disk as a read-only loop device with direct I/O.
if loop=$(losetup -f --show -r --direct-io=on mnt/disk.img 2>/dev/null); then
  cleanup_hooks=("losetup -d $loop" "${cleanup_hooks[@]}")
  run "$ACQUIRE" --format raw "$loop" -o dev --retries 0
  expect_rc 3
  cmp -s dev.raw expected.img || fail "the loop device image is not the disk with exactly those sectors zeroed"
  [ "$(json_field .source.kind dev.acquisition.json)" = block-device ] || fail "kind"
else
  echo "note: losetup on the FUSE file is not possible here; the device part was not run"
fi
[ "$(digest sha256 disk.img)" = "$before" ] || fail "the source changed"

# Re-reading a disk with bad sectors gives the same fills, so --verify-source agrees (AFF4 too).
run "$ACQUIRE" mnt/disk.img -o twice --retries 0 --verify-source --verify-image
expect_rc 3
expect_stdout "source verification: OK"
expect_stdout "image verification: OK"
