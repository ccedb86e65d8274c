# AFF4 on SIGINT: the container is closed, readable and marked interrupted (exit 130); verify
# says it is incomplete. On a full disk: exit 74 with a message that says so, and again a
# readable container, marked failed, holding what was written.
source "$(dirname "$0")/../lib.sh"
make_source chunk.bin 1048576
mkfifo feed
( cat chunk.bin; sleep 2; cat chunk.bin ) >feed &
writer=$!
"$ACQUIRE" feed -o partial >stdout 2>stderr &
pid=$!
for _ in $(seq 50); do
  grep -q . stderr 2>/dev/null && break
  [ -e partial.aff4 ] && [ "$(stat -c %s partial.aff4)" -gt 1048576 ] && break
  sleep 0.1
done
sleep 0.3
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
kill "$writer" 2>/dev/null || true
expect_rc 130
unzip -tq partial.aff4 >/dev/null || fail "the interrupted container must be a complete ZIP"
run "$INFO" --json partial.aff4
expect_rc 0
jq -e '.record.status == "interrupted" and .image_properties.acquisitionCompletionState == "Interrupted"' \
  stdout >/dev/null || fail "the container must say it was interrupted"
run "$VERIFY" partial.aff4
expect_rc 1
expect_stdout "interrupted"
size=$("$INFO" --json partial.aff4 | jq .size)
cat chunk.bin chunk.bin | head -c "$size" >expected.bin
"$EXPORT" partial.aff4 -o - -q | cmp -s - expected.bin ||
  fail "the interrupted container must hold the bytes read so far"

need_root "mounting a small tmpfs"
mkdir small
mount -t tmpfs -o size=8m tmpfs small 2>/dev/null || skip "cannot mount tmpfs here"
cleanup_hooks+=("umount $WORK/small")
make_source big.bin 16777216
run "$ACQUIRE" big.bin -o small/out
expect_rc 74
expect_error_line
expect_stderr "disk full"
expect_stderr "free space"
# The container was closed before the disk filled: readable, marked failed, holding a prefix.
unzip -tq small/out.aff4 >/dev/null || fail "a full disk must still leave a readable container"
"$INFO" --json small/out.aff4 >full.json
jq -e '.record.status == "failed" and .size > 0 and .size < 16777216' full.json >/dev/null ||
  fail "the container must say it failed and hold what was written"
size=$(jq .size full.json)
"$EXPORT" small/out.aff4 -o - -q | cmp -s - <(head -c "$size" big.bin) ||
  fail "the container must hold exactly the first bytes of the source"
run "$VERIFY" small/out.aff4
expect_rc 1
expect_stdout "the acquisition failed"
