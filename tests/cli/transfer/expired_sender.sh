# A sender whose certificate has expired since, on a package without a trusted timestamp, is said
# plainly and is a failure unless --accept-expired-signers accepts the sender's own claim of the
# date (custody-receive, and custody-verify of a package). The stock check of custody-pack(1) fails
# the same way, and -attime with a time inside the validity is what checks the signature as of then.
# (Such a package was once received with "PASS sender".) The package is made in 2020 with faketime,
# by an examiner whose test identities were made in 2020 too (old/: the CA valid for 10 years, the
# examiner's certificate for 2, so it has expired since); samples/keys' expired.pem cannot serve,
# since its CA is made today and so was not valid in 2020.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
command -v faketime >/dev/null || skip "faketime missing (Debian package faketime)"
export FAKETIME_DONT_FAKE_MONOTONIC=1
# libfaketime is preloaded before the ASan runtime of the sanitizer build, which ASan accepts
# when told so.
in_2020() {
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    faketime -f '@2020-06-01 12:00:00' "$@"
}
[ "$(in_2020 date -u +%Y)" = 2020 ] || skip "faketime does not work here"
make_identities
in_2020 bash "$CUSTODY_SOURCE_DIR/samples/keys/make-test-identities.sh" old ||
  fail "could not make the 2020 identities"
make_source a.bin 200000
in_2020 "$ACQUIRE" a.bin -o disk1 -q
run in_2020 "$PACK" disk1.aff4 -o old.tar --key old/examiner.key --cert old/examiner.pem \
  --sending-authority BKA --legal-basis EIO --reference EIO-2020-1
expect_rc 0
receiver=(--key keys/witness.key --cert keys/witness.pem --trust old/ca.pem)

run "$RECEIVE" old.tar -o got "${receiver[@]}"
expect_rc 1
expect_stdout "FAIL  sender"
expect_stdout "whose certificate has expired"
expect_stdout "no trusted time proves that the package was signed before (it is not timestamped)"
expect_stdout "give --accept-expired-signers"
[ ! -e got ] || fail "released although the sender's certificate has expired"

run "$VERIFY" old.tar --trust old/ca.pem
expect_rc 1
expect_stdout "NOT INTACT"
expect_stdout "whose certificate has expired"

# Accepted explicitly: a warning, and the package is received.
run "$VERIFY" old.tar --trust old/ca.pem --accept-expired-signers
expect_rc 0
expect_stdout "WARN  sender"
expect_stdout "accepted with --accept-expired-signers"
run "$RECEIVE" old.tar -o got "${receiver[@]}" --accept-expired-signers
expect_rc 0
expect_stdout "WARN  sender"
run "$RECEIVE" old.tar -o got2 "${receiver[@]}" --accept-expired-signers --json
expect_rc 0
jq -e '.verdict == "RECEIVED" and any(.checks[]; .subject == "sender" and .result == "warn")' \
  stdout >/dev/null || fail "the JSON does not carry the accepted expiry as a warning"

# Stock: openssl fails with "certificate has expired"; -attime checks as of a time in 2020.
mkdir stock && tar xf old.tar -C stock
cd stock/old
! openssl cms -verify -binary -inform DER -in custody/tagmanifest-sha256.txt.p7s \
  -content tagmanifest-sha256.txt -CAfile ../../old/ca.pem -out /dev/null 2>../../stock.err ||
  fail "stock openssl accepts an expired signer without -attime"
grep -q 'certificate has expired' ../../stock.err || fail "stock openssl gives another reason"
openssl cms -verify -binary -inform DER -in custody/tagmanifest-sha256.txt.p7s \
  -content tagmanifest-sha256.txt -CAfile ../../old/ca.pem -out /dev/null \
  -attime "$(date -u -d '2020-06-01 12:00:00' +%s)" 2>/dev/null ||
  fail "stock openssl with -attime does not verify"
