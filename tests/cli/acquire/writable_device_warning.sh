# A block device the kernel does not mark read-only is imaged, with a warning that says how to
# protect it; a read-only one gets no warning.
source "$(dirname "$0")/../lib.sh"
need_root "losetup"
command -v losetup >/dev/null || skip "losetup not installed"
make_source disk.img 1048576
loop=$(losetup -f --show disk.img 2>/dev/null) || skip "no loop device available here"
# The read-only policy of a loop device outlives its detachment: reset it both ways.
cleanup_hooks+=("blockdev --setrw $loop; losetup -d $loop")
blockdev --setrw "$loop"
before=$(digest sha256 disk.img)
run "$ACQUIRE" --format raw "$loop" -o rw -v
expect_rc 0
expect_stderr "warning: the kernel does not mark $loop read-only"
expect_stderr "blockdev --setro"
expect_stdout "kernel read-only: no"
[ "$(digest sha256 disk.img)" = "$before" ] || fail "the device was changed"
blockdev --setro "$loop"
run "$ACQUIRE" --format raw "$loop" -o ro
expect_rc 0
expect_stdout "kernel read-only: yes"
if grep -q warning stderr; then fail "warned about a read-only device"; fi
