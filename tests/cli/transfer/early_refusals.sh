# What the user must fix is said before anything is unpacked or decrypted, as a usage error (64):
# a receiver's key the package is not encrypted to, a missing --trust, a --trust file that is not
# a certificate, a directory given where a container
# or a bag is expected (named as such). A missing output directory is exit 73 for custody-pack
# (tar, directory, encrypted) and custody-receive (-o, --receipt), as for every tool.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source a.bin 200000
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
sender=(--key keys/examiner.key --cert keys/examiner.pem)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)
"$PACK" disk1.aff4 -o sealed.tar "${sender[@]}" -q --encrypt-to keys/witness.pem --segment-size 1M
"$PACK" disk1.aff4 -o transfer.tar "${sender[@]}" -q

usage() { # TEXT: exit 64, TEXT on stderr, nothing released or left behind
  expect_rc 64
  expect_error_line
  expect_stderr "$1"
  ! ls -d out .custody-receive-* 2>/dev/null || fail "something was left behind"
}
# strace shows that a refused key never decrypts: no segment is even opened.
if command -v strace >/dev/null; then
  set +e
  # LeakSanitizer (the ASan build) cannot run under ptrace.
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -e trace=openat -o trace.txt "$RECEIVE" sealed.tar.enc.json -o out \
      --key keys/other-examiner.key --cert keys/other-examiner.pem --trust keys/ca.pem \
      >"$WORK/stdout" 2>"$WORK/stderr"
  RC=$?
  set -e
  ! grep -q 'sealed\.tar\.enc\.000"' trace.txt || fail "a segment was read for a key it is not for"
else
  run "$RECEIVE" sealed.tar.enc.json -o out --key keys/other-examiner.key \
    --cert keys/other-examiner.pem --trust keys/ca.pem
fi
usage "this package is not encrypted to the certificate"
expect_stderr "Test Witness"
run "$RECEIVE" transfer.tar -o out --key keys/witness.key --cert keys/witness.pem
usage "--trust is required"
run "$RECEIVE" transfer.tar -o out --key keys/witness.key --cert keys/witness.pem \
  --trust keys/examiner.key
usage "keys/examiner.key"
mkdir adir
run "$PACK" disk1.aff4 adir -o p.tar "${sender[@]}"
usage "this is a directory, not a container: adir"
run "$RECEIVE" adir -o out "${receiver[@]}"
usage "this is a directory, but not a bag"
run "$PACK" disk1.aff4 -o p.tar "${sender[@]}" --encrypt-to adir
usage "this is a directory, not a certificate: adir"
run "$RECEIVE" transfer.tar -o out "${receiver[@]}" --allow-signer adir
usage "this is a directory, not a certificate: adir"
run "$RECEIVE" transfer.tar -o out "${receiver[@]}" --receipt adir
usage "this is a directory, not a receipt file: adir"

missing_directory() {
  expect_rc 73
  expect_stderr "output directory does not exist"
  [ ! -e no ] || fail "a directory was created"
}
want=$(digest sha256 disk1.aff4)
run "$PACK" disk1.aff4 -o no/such/p.tar "${sender[@]}"
missing_directory
run "$PACK" disk1.aff4 -o no/such/bag "${sender[@]}"
missing_directory
run "$PACK" disk1.aff4 -o no/such/p.tar "${sender[@]}" --encrypt-to keys/witness.pem
missing_directory
[ "$(digest sha256 disk1.aff4)" = "$want" ] || fail "a refused pack changed the container"
run "$RECEIVE" transfer.tar -o no/such/out "${receiver[@]}"
missing_directory
run "$RECEIVE" transfer.tar -o out --receipt no/such/r.json "${receiver[@]}"
missing_directory
[ ! -e out ] || fail "released with a receipt that cannot be written"
