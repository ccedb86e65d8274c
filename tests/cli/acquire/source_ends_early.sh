# A source that delivers fewer bytes than the size it had when the acquisition began (a file cut
# short while it is read, a device that shrinks or is unplugged: ENODEV) is never recorded as
# complete: the tool says how far it got, exits 74, and keeps what it read in an image whose
# record says "failed" with the bytes expected and read; verify says it is not intact. (It once
# recorded "complete" with 128 MiB read of 200 MiB and exited 0.)
source "$(dirname "$0")/../lib.sh"
need_root "FUSE"
[ -e /dev/fuse ] || skip "no /dev/fuse"
fuse="${CUSTODY_TEST_TOOLS:-}/faulty_fuse"
[ -x "$fuse" ] || skip "faulty_fuse not built (libfuse3-dev missing)"
size=20971520
cut=5244114
make_source disk.img "$size"
head -c "$cut" disk.img >expected.img

# mount_disk DIR ENV...: the FUSE file DIR/disk.img over disk.img, with the given environment.
mount_disk() {
  local dir=$1
  shift
  mkdir "$dir"
  env "$@" "$fuse" disk.img none "$dir" -f -o ro &
  local pid=$!
  cleanup_hooks+=("umount -l $WORK/$dir; kill $pid 2>/dev/null")
  for _ in $(seq 50); do [ -e "$dir/disk.img" ] && break; sleep 0.1; done
  [ -e "$dir/disk.img" ] || skip "could not mount the FUSE file system here"
}

mount_disk short FAULTY_FUSE_EOF_AT=$cut
for format in raw aff4; do
  run "$ACQUIRE" short/disk.img -o "cut-$format" --format "$format"
  expect_rc 74
  expect_error_line
  expect_stderr "the source ended after $cut of the $size bytes it had when reading began"
  expect_stderr "kept in"
  expect_stderr "marked \"failed\""
done
jq -e --argjson cut "$cut" --argjson size "$size" \
  '.status == "failed" and .bytes_read == $cut and .image.size == $cut and .source.size == $size
   and (.error | test("ended after"))' cut-raw.acquisition.json >/dev/null ||
  fail "the raw record must say failed, with the bytes expected and read"
cmp -s cut-raw.raw expected.img || fail "every byte that was read must be kept in the image"
unzip -p cut-aff4.aff4 custody/acquisition.json >aff4-record.json
jq -e --argjson cut "$cut" '.status == "failed" and .bytes_read == $cut' aff4-record.json \
  >/dev/null || fail "the container's record must say failed"
run "$EXPORT" cut-aff4.aff4 -o cut-aff4.raw --no-record
cmp -s cut-aff4.raw expected.img || fail "the container must hold every byte that was read"
for evidence in cut-raw.acquisition.json cut-aff4.aff4; do
  run "$VERIFY" "$evidence"
  expect_rc 1
  expect_stdout "the acquisition failed"
done

# A device that goes away: ENODEV from then on. Not thousands of "bad sectors": the end.
mount_disk gone FAULTY_FUSE_GONE_AT=$cut
run "$ACQUIRE" gone/disk.img -o gone --format raw
expect_rc 74
expect_stderr "No such device"
jq -e '.status == "failed" and (.defects | length) == 0' gone.acquisition.json >/dev/null ||
  fail "a device that went away is a failed acquisition, not a list of unreadable sectors"
[ "$(json_field .bytes_read gone.acquisition.json)" -le "$cut" ] || fail "bytes read"
