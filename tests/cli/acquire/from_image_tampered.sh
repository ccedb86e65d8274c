# A byte changed inside a chunk of an E01 is caught on import: the chunk's checksum fails and the
# stored hashes do not match what is read. The container is still written, its record says what
# the original claimed and what was found, and the exit status is 1.
source "$(dirname "$0")/../lib.sh"
command -v ewfacquire >/dev/null || skip "ewfacquire missing (ewf-tools)"
make_source disk.img 2097152
ewfacquire -u -q -t peer -c none -d sha1 disk.img >ewfacquire.log 2>&1 || fail "ewfacquire failed"
# The disk's bytes 100000.. are stored as they are (-c none): find them in the E01 and change one.
needle=$(od -An -tx1 -j 100000 -N 16 disk.img | tr -d ' \n')
offset=$(python3 -c "import sys; print(open('peer.E01','rb').read().find(bytes.fromhex('$needle')))")
[ "$offset" -gt 0 ] || fail "could not find the chunk data in the E01"
flip_byte peer.E01 "$offset"

run "$ACQUIRE" --from-image peer.E01 -o tampered
expect_rc 1
expect_stderr "chunk checksums fail in sectors 192-255"
expect_stderr "md5 stored in the source image $(digest md5 disk.img), computed"
expect_stderr "does not hold what its maker hashed"
[ -f tampered.aff4 ] || fail "the container must still be written"
record=$("$INFO" --json tampered.aff4)
jq -e --arg md5 "$(digest md5 disk.img)" '.record.imported_from | .hashes_match == false and
  .claimed_hashes.md5 == $md5 and (.checksum_errors | length) == 1' <<<"$record" >/dev/null ||
  fail "the record must hold the claim and the mismatch: $(jq -c .record.imported_from <<<"$record")"
jq -e --arg md5 "$(digest md5 disk.img)" '.record.hashes.md5 != $md5' <<<"$record" >/dev/null ||
  fail "the record's own hashes are of what was read"
