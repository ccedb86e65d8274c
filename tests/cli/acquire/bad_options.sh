# Bad option values are usage errors (64) with a message that says what is accepted.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 1000
run "$ACQUIRE" --format raw src.bin -o out --hash md5,crc32
expect_rc 64
expect_stderr "unknown hash algorithm 'crc32'"
run "$ACQUIRE" --format raw src.bin -o out --segment-size 1000
expect_rc 64
expect_stderr "at least 1M"
run "$ACQUIRE" --format raw src.bin -o out --segment-size lots
expect_rc 64
expect_stderr "invalid size 'lots'"
run "$ACQUIRE" --format raw src.bin
expect_rc 64
expect_stderr "--output is required"
run "$ACQUIRE" --format raw src.bin -o out --no-such-option
expect_rc 64
expect_stderr "--help"
[ ! -e out.raw ] || fail "output created on a usage error"
