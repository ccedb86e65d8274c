# '-' reads a pipe of unknown size; the record says "stream" with a null size.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 3000000
set +e
cat src.bin | "$ACQUIRE" --format raw - -o piped >stdout 2>stderr
RC=$?
set -e
expect_rc 0
cmp -s src.bin piped.raw || fail "piped image differs"
[ "$(json_field .source.kind piped.acquisition.json)" = "stream" ] || fail "kind"
[ "$(json_field .source.size piped.acquisition.json)" = "null" ] || fail "size should be null"
[ "$(json_field .bytes_read piped.acquisition.json)" = "3000000" ] || fail "bytes_read"
[ "$(json_field .hashes.sha256 piped.acquisition.json)" = "$(digest sha256 src.bin)" ] || fail "hash"
