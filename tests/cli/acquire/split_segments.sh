# --segment-size splits the image into NAME.001, NAME.002, ...: each segment's recorded hash is
# that of the file, the whole-image hash is that of the concatenation, and Sleuth Kit reads the set.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 5500000
run "$ACQUIRE" --format raw src.bin -o split --segment-size 2M --hash sha256,md5
expect_rc 0
expect_stdout "(3 segments)"
[ "$(ls split.0* | wc -l)" -eq 3 ] || fail "expected 3 segment files"
[ "$(stat -c %s split.001)" -eq 2097152 ] || fail "segment 1 size"
[ "$(stat -c %s split.003)" -eq $((5500000 - 2 * 2097152)) ] || fail "segment 3 size"
for n in 1 2 3; do
  want=$(json_field ".image.segments[$((n - 1))].hashes.sha256" split.acquisition.json)
  [ "$want" = "$(digest sha256 split.00$n)" ] || fail "segment $n sha256"
done
[ "$(cat split.0* | sha256sum | cut -d' ' -f1)" = "$(digest sha256 src.bin)" ] || fail "concat"
[ "$(json_field .hashes.sha1 split.acquisition.json)" = "null" ] || fail "sha1 not requested"
if command -v img_cat >/dev/null; then
  [ "$(img_cat split.001 | sha256sum | cut -d' ' -f1)" = "$(digest sha256 src.bin)" ] ||
    fail "Sleuth Kit img_cat reads a different image"
  grep -q "Split Information" <<<"$(img_stat split.001)" || fail "img_stat does not see a split set"
fi
