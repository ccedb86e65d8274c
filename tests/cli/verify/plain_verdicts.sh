# The verdict names what failed in plain words (issue 15, item 6): an untrusted signer is "NOT
# INTACT: the image is unchanged, but seal 1 was made by a signer that is not trusted here", not
# "does not match its acquisition record"; a --trust file that is no certificate is a usage error
# (64) without an OpenSSL error dump. A seal whose signer's certificate has expired since, with no
# trusted time, fails unless --accept-expired-signers accepts the signer's own date (a warning).
source "$(dirname "$0")/../lib.sh"
SEAL="$CUSTODY_BIN/custody-seal"
make_identities
make_source src.bin 300000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem

run "$VERIFY" img.aff4 --trust keys/other-ca.pem
expect_rc 1
head -1 stdout >first.line
grep -q '^NOT INTACT: the image is unchanged, but seal 1 was made by a signer that is not trusted here' \
  first.line || fail "the first line does not name the untrusted seal: $(cat first.line)"
! grep -q "does not match its acquisition record" stdout ||
  fail "an untrusted signer is reported as a changed image"

echo "not a certificate" >junk.pem
run "$VERIFY" img.aff4 --trust junk.pem
expect_rc 64
expect_error_line
expect_stderr "junk.pem is not a certificate file"
! grep -qE 'error:[0-9A-F]{8}:|routines' "$WORK/stderr" || fail "an OpenSSL error dump reached the user"

# A seal made in 2020 by a certificate valid in 2020 only, without a timestamp.
command -v faketime >/dev/null || skip "faketime missing (Debian package faketime)"
export FAKETIME_DONT_FAKE_MONOTONIC=1
in_2020() {
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    faketime -f '@2020-06-01 12:00:00' "$@"
}
[ "$(in_2020 date -u +%Y)" = 2020 ] || skip "faketime does not work here"
in_2020 bash "$CUSTODY_SOURCE_DIR/samples/keys/make-test-identities.sh" old >/dev/null ||
  fail "could not make the 2020 identities"
in_2020 "$ACQUIRE" src.bin -o old -q --seal-key old/examiner.key --seal-cert old/examiner.pem
run "$VERIFY" old.aff4 --trust old/ca.pem
expect_rc 1
head -1 stdout >first.line
grep -q '^NOT INTACT: the image is unchanged, but seal 1 was made by .*whose certificate has expired' \
  first.line || fail "the expired signer is not named first: $(cat first.line)"
expect_stdout "--accept-expired-signers"
run "$VERIFY" old.aff4 --trust old/ca.pem --accept-expired-signers
expect_rc 0
expect_stdout "accepted with --accept-expired-signers"
