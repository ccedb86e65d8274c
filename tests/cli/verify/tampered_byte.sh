# One changed byte in one segment: exit 1, and the report names the segment and the algorithms.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 3500000
"$ACQUIRE" --format raw src.bin -o img --segment-size 1M -q
printf 'X' | dd of=img.003 bs=1 seek=4242 conv=notrunc status=none
run "$VERIFY" img.acquisition.json
expect_rc 1
expect_stdout "FAILED:"
expect_stdout "segment img.003: sha256 mismatch"
expect_stdout "segment img.003: md5 mismatch"
if grep -q "segment img.002" stdout; then fail "an intact segment was reported"; fi
run "$VERIFY" -q img.acquisition.json
expect_rc 1
expect_stdout "FAILED:"
