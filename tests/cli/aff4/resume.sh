# An acquisition interrupted midway (SIGINT) is continued with --resume into the same container,
# and ends with the hashes of an uninterrupted run; the container's earlier bytes are untouched.
source "$(dirname "$0")/../lib.sh"
need_root "FUSE (a slow disk to interrupt)"
[ -e /dev/fuse ] || skip "no /dev/fuse"
fuse="${CUSTODY_TEST_TOOLS:-}/faulty_fuse"
[ -x "$fuse" ] || skip "faulty_fuse not built (libfuse3-dev missing)"
make_source disk.img 12582912   # 12 MiB, with a zero run, and two bad sectors
mkdir mnt
FAULTY_FUSE_DELAY_US=20000 "$fuse" disk.img 5000,20000 mnt -f -o ro &
fuse_pid=$!
cleanup_hooks+=("umount -l $WORK/mnt; kill $fuse_pid 2>/dev/null")
for _ in $(seq 50); do [ -e mnt/disk.img ] && break; sleep 0.1; done
[ -e mnt/disk.img ] || skip "could not mount the FUSE file system here"

"$ACQUIRE" mnt/disk.img -o img --retries 0 >stdout 2>stderr &
pid=$!
for _ in $(seq 100); do
  [ -e img.aff4 ] && [ "$(stat -c %s img.aff4)" -gt 3000000 ] && break
  sleep 0.05
done
kill -INT "$pid"
set +e
wait "$pid"
RC=$?
set -e
expect_rc 130
held=$("$INFO" --json img.aff4 | jq .size)
[ "$held" -gt 0 ] && [ "$held" -lt 12582912 ] || fail "expected a partial image, got $held bytes"
head -c "$(stat -c %s img.aff4)" img.aff4 >before.bin

run "$ACQUIRE" mnt/disk.img -o img --resume --retries 0
expect_rc 3   # the two bad sectors
cmp -s before.bin <(head -c "$(stat -c %s before.bin)" img.aff4) ||
  fail "resuming rewrote bytes of the interrupted container"
run "$VERIFY" img.aff4
expect_rc 0
"$INFO" --json img.aff4 >info.json
jq -e --argjson held "$held" '.record.status == "complete" and .record.resumed[0].offset == $held' \
  info.json >/dev/null || fail "the record must say where it was resumed"
jq -e '[.record.defects[] | .first_sector] == [5000, 20000]' info.json >/dev/null ||
  fail "defects before and after the resumption"

# The same acquisition without interruption gives the same hashes.
run "$ACQUIRE" mnt/disk.img -o whole --retries 0 -q
expect_rc 3
[ "$(jq -r .record.hashes.sha256 info.json)" = "$("$INFO" --json whole.aff4 | jq -r .record.hashes.sha256)" ] ||
  fail "a resumed acquisition must end with the hashes of an uninterrupted one"
"$EXPORT" img.aff4 -o - -q | cmp -s - <("$EXPORT" whole.aff4 -o - -q) || fail "images differ"
run "$ACQUIRE" mnt/disk.img -o img --resume
expect_rc 64
expect_stderr "nothing to resume"
