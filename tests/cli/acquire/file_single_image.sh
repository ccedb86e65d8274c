# A regular file becomes a byte-exact raw image; the record's hashes match coreutils and the
# source is unchanged.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 5000000
before=$(digest sha256 src.bin)
run "$ACQUIRE" --format raw src.bin -o out --case 2026-17 --evidence E1 --examiner "J. Doe" \
  --description "USB stick" --notes "seized 2026-11-28"
expect_rc 0
expect_stdout "acquired 5000000 bytes from src.bin"
expect_stdout "$(digest md5 src.bin)"
cmp -s src.bin out.raw || fail "image differs from source"
[ "$(digest sha256 src.bin)" = "$before" ] || fail "source changed"
[ "$(json_field .hashes.md5 out.acquisition.json)" = "$(digest md5 src.bin)" ] || fail "md5"
[ "$(json_field .hashes.sha1 out.acquisition.json)" = "$(digest sha1 src.bin)" ] || fail "sha1"
[ "$(json_field .hashes.sha256 out.acquisition.json)" = "$before" ] || fail "sha256"
[ "$(json_field .case.examiner out.acquisition.json)" = "J. Doe" ] || fail "examiner"
[ "$(json_field .source.kind out.acquisition.json)" = "file" ] || fail "kind"
[ "$(json_field .status out.acquisition.json)" = "complete" ] || fail "status"
[ "$(json_field .image.segments[0].file out.acquisition.json)" = "out.raw" ] || fail "segment"
[ "$(stat -c %s out.raw)" -eq 5000000 ] || fail "image size"
