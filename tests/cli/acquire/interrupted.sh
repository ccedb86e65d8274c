# SIGINT stops the acquisition at a block boundary: exit 130, the image so far is intact, the
# record says "interrupted", and custody-verify refuses to call it verified.
source "$(dirname "$0")/../lib.sh"
make_source chunk.bin 1048576
mkfifo feed
# A slow writer: one MiB, then a pause long enough for the signal to arrive.
( cat chunk.bin; sleep 2; cat chunk.bin ) >feed &
writer=$!
"$ACQUIRE" --format raw feed -o partial >stdout 2>stderr &
pid=$!
for _ in $(seq 50); do
  [ -s partial.raw ] && [ "$(stat -c %s partial.raw)" -ge 1048576 ] && break
  sleep 0.1
done
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
kill "$writer" 2>/dev/null || true
expect_rc 130
expect_stderr "interrupted"
[ "$(json_field .status partial.acquisition.json)" = "interrupted" ] || fail "status"
[ "$(json_field .hashes.sha256 partial.acquisition.json)" = "$(digest sha256 partial.raw)" ] ||
  fail "the partial image's hash is not recorded correctly"
run "$VERIFY" partial.acquisition.json
expect_rc 1
expect_stdout "interrupted"
