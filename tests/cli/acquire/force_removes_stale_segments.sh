# With --force, numbered segments left from an earlier, longer image are removed, so that
# "cat NAME.0*" is still the new image.
source "$(dirname "$0")/../lib.sh"
make_source long.bin 4194304
make_source short.bin 1500000 other
run "$ACQUIRE" --format raw long.bin -o img --segment-size 1M
expect_rc 0
[ -e img.004 ] || fail "setup: expected 4 segments"
run "$ACQUIRE" --format raw short.bin -o img --segment-size 1M --force
expect_rc 0
[ ! -e img.003 ] && [ ! -e img.004 ] || fail "stale segments left behind"
[ "$(cat img.0* | sha256sum | cut -d' ' -f1)" = "$(digest sha256 short.bin)" ] || fail "concat"
