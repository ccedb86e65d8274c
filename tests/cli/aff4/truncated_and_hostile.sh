# A truncated volume, a non-container, and a ZIP with a path-traversal member name get a clear
# error and exit 65; nothing crashes.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 2000000
"$ACQUIRE" src.bin -o img -q
size=$(stat -c %s img.aff4)
# The last append (the "acquired" custody event) torn: the previous end record is the last
# complete one, so the container verifies as it was before, and the lost tail is named.
head -c $((size - 100)) img.aff4 >cut.aff4
run "$VERIFY" cut.aff4
expect_rc 0
expect_stdout "bytes follow the last complete end record (an interrupted append)"
expect_stdout "no custody events are recorded"
head -c $((size / 2)) img.aff4 >half.aff4
run "$INFO" half.aff4
expect_rc 65
expect_error_line
run "$EXPORT" half.aff4 -o out.raw
expect_rc 65
python3 - <<'PY'
import zipfile
with zipfile.ZipFile("evil.aff4", "w") as z:
    z.writestr("version.txt", "major=1\nminor=0\n")
    z.writestr("../../etc/evil", "x")
PY
run "$VERIFY" evil.aff4
expect_rc 65
expect_stderr "unsafe member name"
head -c 5000 /dev/urandom >junk.aff4
printf 'PK\003\004' | dd of=junk.aff4 conv=notrunc status=none
run "$INFO" junk.aff4
expect_rc 65
# Bytes appended after the end of a container are reported, not silently ignored.
cp img.aff4 tail.aff4
printf 'appended later' >>tail.aff4
run "$VERIFY" tail.aff4
expect_rc 0
expect_stdout "14 bytes follow the end of the container"
