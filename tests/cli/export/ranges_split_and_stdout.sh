# Export writes the image back out: whole, split, a byte range, or to stdout with nothing else
# on stdout; it refuses to overwrite and rejects ranges outside the image.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 3500000
"$ACQUIRE" src.bin -o img -q
run "$EXPORT" img.aff4 -o whole.raw
expect_rc 0
expect_stdout "matches the recorded hash"
cmp -s whole.raw src.bin || fail "whole export differs"
run "$EXPORT" img.aff4 -o whole.raw
expect_rc 73
expect_stderr "--force"
run "$EXPORT" img.aff4 -o part --split 1M
expect_rc 0
[ "$(ls part.0* | wc -l)" -eq 4 ] || fail "expected 4 split files"
cat part.0* | cmp -s - src.bin || fail "split export differs"
"$EXPORT" img.aff4 -o - >stdout.bin 2>stderr.txt
cmp -s stdout.bin src.bin || fail "stdout export is not exactly the image"
grep -q "exported 3500000 bytes" stderr.txt || fail "the summary belongs on stderr when stdout carries the image"
run "$EXPORT" img.aff4 -o range.bin --offset 1000 --length 4096 --hash sha256
expect_rc 0
[ "$(digest sha256 range.bin)" = "$(dd if=src.bin bs=1 skip=1000 count=4096 status=none | sha256sum | cut -d' ' -f1)" ] ||
  fail "range export differs"
run "$EXPORT" img.aff4 -o far.bin --offset 3499000 --length 5000
expect_rc 64
expect_stderr "beyond the end"
run "$EXPORT" img.aff4 -o - --split 1M
expect_rc 64
