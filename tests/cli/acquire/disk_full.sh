# Disk full while writing: exit 74, the message says so and what to do, the record says "failed".
source "$(dirname "$0")/../lib.sh"
need_root "mounting a small tmpfs"
mkdir small
mount -t tmpfs -o size=2m tmpfs small 2>/dev/null || skip "cannot mount tmpfs here"
cleanup_hooks+=("umount $WORK/small")
make_source src.bin 4194304
run "$ACQUIRE" --format raw src.bin -o small/out
expect_rc 74
expect_error_line
expect_stderr "disk full"
expect_stderr "free space"
if [ -e small/out.acquisition.json ]; then
  [ "$(json_field .status small/out.acquisition.json)" = "failed" ] || fail "record claims success"
fi
