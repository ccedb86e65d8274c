# A block device: its facts are recorded (unknown ones as null), --set-readonly marks it read-only
# in the kernel before reading, hidden areas are reported as not checked on a non-ATA device, and
# the device is unchanged.
source "$(dirname "$0")/../lib.sh"
need_root "losetup and BLKROSET"
command -v losetup >/dev/null || skip "losetup not installed"
make_source disk.img 2097152
loop=$(losetup -f --show disk.img 2>/dev/null) || skip "no loop device available here"
cleanup_hooks+=("blockdev --setrw $loop; losetup -d $loop")
blockdev --setrw "$loop"
before=$(digest sha256 disk.img)
run "$ACQUIRE" --format raw "$loop" -o dev --set-readonly
expect_rc 0
expect_stdout "(set read-only by custody)"
[ "$(blockdev --getro "$loop")" = 1 ] || fail "the device should now be read-only in the kernel"
rec=dev.acquisition.json
jq -e '.source.set_read_only == true and .source.kernel_read_only == true' $rec >/dev/null ||
  fail "the record must say the device was set read-only"
jq -e '.source.transport == "loop" and .source.removable == false and (.source.rotational | type) == "boolean"' \
  $rec >/dev/null || fail "device facts"
jq -e '.source.model == null and .source.serial == null' $rec >/dev/null ||
  fail "unknown facts must be null, not guessed"
jq -e '.source.hidden_areas | startswith("not checked (not an ATA device")' $rec >/dev/null ||
  fail "hidden areas"
run "$INFO" $rec
expect_stdout "set read-only in the kernel by custody-acquire"
expect_stdout "hidden areas"
[ "$(digest sha256 disk.img)" = "$before" ] || fail "the device changed"
# --set-readonly is for devices only.
run "$ACQUIRE" disk.img -o file --set-readonly
expect_rc 64
expect_stderr "applies to block devices"
