source "$(dirname "$0")/../lib.sh"
make_source src.bin 2200000
"$ACQUIRE" --format raw src.bin -o img --segment-size 1M -q
run "$VERIFY" --json img.acquisition.json
expect_rc 0
jq -e '.format == "custody-verification" and .version == 1 and .verdict == "verified"' stdout \
  >/dev/null || fail "json verdict"
jq -e '[.checks[] | select(.result != "pass")] | length == 0' stdout >/dev/null || fail "checks"
printf 'Y' | dd of=img.001 bs=1 seek=10 conv=notrunc status=none
run "$VERIFY" --json img.acquisition.json
expect_rc 1
jq -e '.verdict == "failed"' stdout >/dev/null || fail "json failed verdict"
jq -e '[.checks[] | select(.result == "fail" and .subject == "img.001")] | length == 3' stdout \
  >/dev/null || fail "the failed checks should name img.001 for md5, sha1 and sha256"
