# Empty, one-byte, exactly-one-chunk and all-zero sources, and other chunk sizes, round-trip.
source "$(dirname "$0")/../lib.sh"
: >empty.bin
printf 'x' >one.bin
make_source chunk.bin 32768
head -c 3000000 /dev/zero >zeros.bin
for src in empty one chunk zeros; do
  run "$ACQUIRE" "$src.bin" -o "$src" -q
  expect_rc 0
  run "$VERIFY" "$src.aff4"
  expect_rc 0
  "$EXPORT" "$src.aff4" -o - -q | cmp -s - "$src.bin" || fail "$src export differs"
done
[ "$("$INFO" --json zeros.aff4 | jq .map.stream_bytes)" = 0 ] || fail "zeros should store nothing"
make_source src.bin 1000000
for size in 4K 64K 1M; do
  run "$ACQUIRE" src.bin -o "c$size" --chunk-size "$size" -q
  expect_rc 0
  "$EXPORT" "c$size.aff4" -o - -q | cmp -s - src.bin || fail "chunk size $size export differs"
done
run "$ACQUIRE" src.bin -o bad --chunk-size 3000
expect_rc 64
expect_stderr "power of two"
run "$ACQUIRE" src.bin -o bad --compression zstd
expect_rc 64
expect_stderr "zstd"
run "$ACQUIRE" src.bin -o bad --segment-size 2M
expect_rc 64
expect_stderr "raw images"
