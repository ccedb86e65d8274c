# The signers of custody events judged per EN 319 102-1 by custody-verify: an event signed by a
# certificate revoked later passes when an archive time-stamp (custody-seal --renew) proves the
# event's signature existed before, and is a warning (INDETERMINATE/REVOKED_NO_POE) when nothing
# proves it; one dated after its signer's revocation fails, named; without --online the unsettled
# status is said, not passed.
source "$(dirname "$0")/../lib.sh"
source "$CUSTODY_SOURCE_DIR/tests/support/revocation_pki.sh"
LOG="$CUSTODY_BIN/custody-log"
start_tsa normal
start_revocation_pki
make_source src.bin 100000
"$ACQUIRE" src.bin -o img -q

# add_by SIGNER: a note event signed by a signer of the test PKI.
add_by() {
  run "$LOG" add img.aff4 --action note --notes "by $1" --by-key "pki/$1.key" \
    --by-cert "pki/$1.pem" --by-chain pki/ca.pem
  expect_rc 0
}
add_by revoked-later
run "$SEAL" img.aff4 --renew --tsa "$TSA_URL" --key pki/good.key --cert pki/good.pem --chain pki/ca.pem
expect_rc 0
add_by revoked-early
add_by revoked-later
trusted=(--trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem)

run "$VERIFY" img.aff4 "${trusted[@]}"
expect_stdout "NOT CHECKED: revocation of the custody log's signers:"
grep -q 'revoked on' stdout && fail "a revocation reported without any revocation data"

sleep 1.1
revoke_signer revoked-later
revoke_signer revoked-early 20250101000000Z
run "$VERIFY" img.aff4 "${trusted[@]}" --online
expect_rc 1
expect_stdout "event 4: signed by Early Revoked Signer on "
expect_stdout ", by its own date after its certificate was revoked on 2025-01-01T00:00:00Z"
expect_stdout "warning: custody log event 5: signed by Later Revoked Signer on"
expect_stdout "no trusted time proves the signature came first"
expect_stdout "INDETERMINATE/REVOKED_NO_POE"
grep -q 'event 2: signed by Later Revoked Signer' stdout &&
  fail "the event proven by the renewal was not passed"
run "$VERIFY" img.aff4 "${trusted[@]}" --online --json
expect_rc 1
jq -e '[.checks[] | select(.subject == "event 4" and .result == "fail") | .etsi.sub_indication]
  == ["REVOKED_NO_POE"]' stdout >/dev/null || fail "--json: the revoked event signer"
jq -e '[.checks[] | select(.subject == "event 5") | .result] == ["warn"]' stdout >/dev/null ||
  fail "--json: the unproven event before its signer's revocation"
exit 0
