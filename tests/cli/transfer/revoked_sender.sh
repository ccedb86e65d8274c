# A package's sender signature at CAdES B-LT, and the sender's revocation judged per EN 319 102-1
# (custody-receive, custody-verify of a package): a good sender's package carries its OCSP
# response; a sender revoked after the package's proven time is accepted, the proof named; one
# revoked before is rejected and nothing is released; without --online a status nothing settles
# is said, never passed over; a revoked sender cannot pack.
source "$(dirname "$0")/../lib.sh"
source "$CUSTODY_SOURCE_DIR/tests/support/revocation_pki.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
start_tsa normal
start_revocation_pki
make_source a.bin 200000
for name in good later early refused; do
  cp a.bin "$name.bin"
  "$ACQUIRE" "$name.bin" -o "$name" -q
done
facts=(--sending-authority BKA --legal-basis EIO --reference EIO-2026-7)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem)

# pack_as SIGNER NAME [OPTION...]: NAME.aff4 packed into NAME.tar by a signer of the test PKI.
pack_as() {
  local signer=$1 name=$2
  shift 2
  run "$PACK" "$name.aff4" -o "$name.tar" --key "pki/$signer.key" --cert "pki/$signer.pem" \
    --chain pki/ca.pem --tsa "$TSA_URL" "${facts[@]}" "$@"
}

pack_as good good
expect_rc 0
expect_stdout "level     CAdES B-LT"
expect_stdout "status    OCSP response of"
run "$RECEIVE" good.tar -o got-good "${receiver[@]}" --json
expect_rc 0
jq -e '.sender_etsi | .indication == "TOTAL-PASSED" and .cades_level == "B-LT"' stdout >/dev/null ||
  fail "--json: the good sender's ETSI validation"
jq -e '.checks[] | select(.subject == "revocation") | .result == "pass"
  and (.detail | contains("not revoked (OCSP response of"))' stdout >/dev/null ||
  fail "the revocation check of a B-LT package"

# Revoked after the package was time-stamped: accepted with --online, the proof named.
pack_as revoked-later later --no-revocation-fetch
expect_rc 0
expect_stdout "level     CAdES B-T"
sleep 1.1
revoke_signer revoked-later
run "$VERIFY" later.tar --trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem
expect_rc 0
expect_stdout "the sender's revocation status is not checked: no revocation data"
expect_stdout "INDETERMINATE/TRY_LATER"
run "$RECEIVE" later.tar -o got-later "${receiver[@]}" --online
expect_rc 0
expect_stdout "after the signature was proven to exist at"
expect_stdout "TOTAL-PASSED"
[ -d got-later ] || fail "not released"

# Revoked before the package's proven time: rejected, nothing released.
pack_as revoked-early early --no-revocation-fetch
expect_rc 0
revoke_signer revoked-early 20250101000000Z
run "$RECEIVE" early.tar -o got-early "${receiver[@]}" --online
expect_rc 1
expect_stdout "the sender's certificate was revoked on 2025-01-01T00:00:00Z, before the signature's proven time"
expect_stdout "TOTAL-FAILED/REVOKED"
[ ! -e got-early ] || fail "released although the sender was revoked"
run "$VERIFY" early.tar --trust pki/ca.pem --online
expect_rc 1
expect_stdout "no trusted time proves the package was signed before"
expect_stdout "INDETERMINATE/REVOKED_NO_POE"

# A revoked sender cannot pack: refused before the container gets its "packaged" event.
before=$(sha256sum refused.aff4)
pack_as revoked-early refused
expect_rc 64
expect_stderr "was revoked on 2025-01-01T00:00:00Z"
[ "$before" = "$(sha256sum refused.aff4)" ] || fail "a refused pack changed the container"
[ ! -e refused.tar ] || fail "a refused pack left a package"
exit 0
