# E01 options are checked before anything is written: a whole image to files only, a known
# compression, segments of at least 1M, and no E01 options on raw output.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 1048576
"$ACQUIRE" src.bin -o img -q
for args in "-o -" "-o x --offset 512" "-o x --length 512" "-o x --split 1M" \
  "-o x --compression zlib" "-o x --segment-size 4K" "-o x --format vmdk"; do
  # shellcheck disable=SC2086
  run "$EXPORT" img.aff4 --format e01 $args
  expect_rc 64
  expect_error_line
done
run "$EXPORT" img.aff4 -o x.raw --compression best
expect_rc 64
expect_stderr "apply to --format e01"
run "$EXPORT" img.aff4 --format e01 -o missing-dir/x
expect_rc 73
expect_stderr "mkdir -p"
[ ! -e x.E01 ] && [ ! -e x.raw ] || fail "a refused export must not leave files"
