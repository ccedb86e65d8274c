# Export to a full disk: exit 74, "disk full" in our words (not libewf's error stack), and no
# partial raw file or E01 set left behind that could be taken for the image. An interrupted export
# removes its output too. (Both once left e.raw / e.E01 in place.)
source "$(dirname "$0")/../lib.sh"
need_root "mounting a small tmpfs"
mkdir small
mount -t tmpfs -o size=3m tmpfs small 2>/dev/null || skip "cannot mount tmpfs here"
cleanup_hooks+=("umount $WORK/small")
make_source src.bin 8388608
"$ACQUIRE" src.bin -o c -q

run "$EXPORT" c.aff4 -o small/e.raw --no-record
expect_rc 74
expect_error_line
expect_stderr "disk full"
expect_stderr "the incomplete output was removed"
[ ! -e small/e.raw ] || fail "a partial raw export was left in place"

run "$EXPORT" c.aff4 -o small/s --split 1M --no-record
expect_rc 74
expect_stderr "disk full"
[ -z "$(ls small)" ] || fail "partial split segments were left in place: $(ls small)"

run "$EXPORT" c.aff4 --format e01 --compression none -o small/e --no-record
expect_rc 74
expect_error_line
expect_stderr "disk full while writing the E01 set"
expect_stderr "free space on the output disk"
if grep -q "libewf_" stderr; then fail "libewf's error stack reached the user"; fi
[ -z "$(ls small)" ] || fail "a partial E01 set was left in place: $(ls small)"

run "$EXPORT" c.aff4 --format e01 --compression none -o small/e --no-record --json
expect_rc 74
jq -e '.format == "custody-error" and .exit_code == 74 and .error.code == "io_error"' stdout \
  >/dev/null || fail "--json: one custody-error document"

# Enough space: the same export works.
run "$EXPORT" c.aff4 -o e.raw --no-record -q
expect_rc 0
cmp -s e.raw src.bin || fail "export with enough space"
