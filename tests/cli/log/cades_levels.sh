# Custody events and tree heads at CAdES B-T and B-LT: with --tsa, an event's and its head's
# signatures carry a signature time-stamp and the signer's OCSP response (checked in the DER with
# tests/support/cms_fields.py and with stock openssl ts/ocsp/cms), whether recorded by custody-log
# add or by custody-seal and custody-pack; such an event stays proven after its signer is revoked,
# where the same signer's B-B event is not; a revoked signer records nothing; a responder that is
# down costs the level (said once), never the event.
source "$(dirname "$0")/../lib.sh"
source "$CUSTODY_SOURCE_DIR/tests/support/revocation_pki.sh"
command -v python3 >/dev/null || skip "python3 missing"
LOG="$CUSTODY_BIN/custody-log"
start_tsa normal
start_revocation_pki
make_source src.bin 100000
"$ACQUIRE" src.bin -o img -q
cp src.bin two.bin
"$ACQUIRE" two.bin -o two -q
trusted=(--trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem)
facts=(--sending-authority BKA --legal-basis EIO --reference EIO-2026-7)

# add_by SIGNER [OPTION...]: a note event by a signer of the test PKI.
add_by() {
  local signer=$1
  shift
  run "$LOG" add img.aff4 --action note --notes "by $signer" --by-key "pki/$signer.key" \
    --by-cert "pki/$signer.pem" --by-chain pki/ca.pem "$@"
}

# expect_b_lt CONTAINER MEMBER SIGNER: the member's signature carries the signature time-stamp
# over its signature value and the signer's OCSP response, both accepted by stock openssl, and
# still verifies over its JSON.
expect_b_lt() {
  local container=$1 member=$2 signer=$3 name
  name=$(basename "$member" .p7s)
  unzip -p "$container" "custody/log/$member" >"$name.p7s"
  unzip -p "$container" "custody/log/$name.json" >"$name.json"
  python3 "$CUSTODY_SOURCE_DIR/tests/support/cms_fields.py" "$name.p7s" "$name.cms" \
    >"$name.cms.json" || fail "cms_fields.py cannot read $member of $container"
  jq -e '.unsigned_attributes == ["1.2.840.113549.1.9.16.2.14"] and .ocsp_responses == 1' \
    "$name.cms.json" >/dev/null ||
    fail "$member of $container is not B-LT: $(cat "$name.cms.json")"
  openssl ts -verify -data "$name.cms/signature-value.bin" -in "$name.cms/timestamp-token.der" \
    -token_in -CAfile tsa/tsa-ca.pem >/dev/null 2>&1 ||
    fail "openssl ts rejects the signature time-stamp of $member"
  openssl ocsp -respin "$name.cms/ocsp-1.der" -issuer pki/ca.pem -cert "pki/$signer.pem" \
    -CAfile pki/ca.pem -no_nonce >"$name.ocsp.txt" 2>&1 ||
    fail "openssl ocsp rejects the response in $member: $(cat "$name.ocsp.txt")"
  grep -q "pki/$signer.pem: good" "$name.ocsp.txt" || fail "the response in $member is not 'good'"
  openssl cms -verify -binary -inform DER -in "$name.p7s" -content "$name.json" \
    -CAfile pki/ca.pem -out /dev/null 2>/dev/null || fail "openssl cms -verify rejects $member"
}

# --- custody-log add: B-B without a TSA, B-LT with one (the event and its head). ---
add_by revoked-later
expect_rc 0
expect_stdout "level    CAdES B-B"
add_by revoked-later --tsa "$TSA_URL"
expect_rc 0
expect_stdout "level    CAdES B-LT (the event's and the tree head's signatures)"
expect_stdout ": not revoked (embedded)"
expect_b_lt img.aff4 event-3.p7s revoked-later
expect_b_lt img.aff4 head-3.p7s revoked-later
unzip -l img.aff4 >members.txt
grep -q 'custody/log/head-3.tsr' members.txt || fail "the head's own token is gone"
add_by good --tsa "$TSA_URL" --json
expect_rc 0
jq -e '.cades_level == "B-LT" and .timestamped == true' stdout >/dev/null ||
  fail "--json: the event's level: $(cat stdout)"

# --- After the signer's revocation: the B-LT event (3) is proven by its own time-stamp; the B-B
# one (2) is not. ---
sleep 1.1
revoke_signer revoked-later
run "$VERIFY" img.aff4 "${trusted[@]}" --online
expect_rc 1  # --trust, and no seal vouches for img.aff4
expect_stdout "warning: custody log event 2: signed by Later Revoked Signer on"
grep -q 'event 3: signed by' stdout && fail "the time-stamped event was not passed: $(cat stdout)"
grep -q 'tree head 3: signed by' stdout && fail "the time-stamped head was not passed"

# custody-log verify does not judge revocation, and says so.
run "$LOG" verify img.aff4 "${trusted[@]}"
expect_rc 0
expect_stdout "NOT CHECKED  revocation"
expect_stdout "the signers' revocation is not checked here; custody-verify img.aff4 judges it"

# --- A revoked signer records nothing (the status is asked before anything is written). ---
before=$(sha256sum <img.aff4)
add_by revoked-later --tsa "$TSA_URL"
expect_rc 64
expect_stderr "was revoked on"
expect_stderr "nothing was signed"
[ "$(sha256sum <img.aff4)" = "$before" ] || fail "a revoked signer's refused event changed the container"
add_by revoked-later --tsa "$TSA_URL" --json
expect_rc 64
expect_json custody-error

# --- A responder that is down: B-T, said once (the head does not ask again), event recorded. ---
stop_ocsp
stop_crl_server
add_by good --tsa "$TSA_URL"
expect_rc 0
expect_stdout "level    CAdES B-T"
[ "$(grep -c 'is signed at CAdES B-T, not B-LT: no revocation data' stderr)" = 1 ] ||
  fail "the shortfall was not said exactly once: $(cat stderr)"
start_ocsp
start_crl_server

# --- custody-seal and custody-pack sign their events at their own level. ---
run "$SEAL" two.aff4 --key pki/good.key --cert pki/good.pem --chain pki/ca.pem --tsa "$TSA_URL"
expect_rc 0
expect_stdout "level    CAdES B-LT"
expect_b_lt two.aff4 event-2.p7s good
expect_b_lt two.aff4 head-2.p7s good
run "$CUSTODY_BIN/custody-pack" two.aff4 -o pkg.tar --key pki/good.key --cert pki/good.pem \
  --chain pki/ca.pem --tsa "$TSA_URL" "${facts[@]}"
expect_rc 0
expect_b_lt two.aff4 event-3.p7s good
run "$CUSTODY_BIN/custody-receive" pkg.tar -o recv --key pki/ocsp-only.key --cert pki/ocsp-only.pem --chain pki/ca.pem \
  --trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem --tsa "$TSA_URL" --json
expect_rc 0
jq -e '.receipt.cades_level == "B-LT" and (.receipt.revocation | length) == 1' stdout >/dev/null ||
  fail "--json: the receipt's level: $(cat stdout)"
expect_b_lt recv/data/two.aff4 event-4.p7s ocsp-only
python3 "$CUSTODY_SOURCE_DIR/tests/support/cms_fields.py" recv.receipt.json.p7s receipt.cms \
  >receipt.cms.json || fail "cms_fields.py cannot read the receipt's signature"
jq -e '.unsigned_attributes == ["1.2.840.113549.1.9.16.2.14"] and .ocsp_responses == 1' \
  receipt.cms.json >/dev/null || fail "the receipt's signature is not B-LT: $(cat receipt.cms.json)"
openssl cms -verify -binary -inform DER -in recv.receipt.json.p7s -content recv.receipt.json \
  -CAfile pki/ca.pem -out /dev/null 2>/dev/null || fail "openssl cms -verify rejects the receipt"
# A revoked receiver: refused, nothing released, no receipt.
run "$CUSTODY_BIN/custody-receive" pkg.tar -o recv2 --key pki/revoked-later.key \
  --cert pki/revoked-later.pem --chain pki/ca.pem --trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem \
  --tsa "$TSA_URL"
expect_rc 64
expect_stderr "was revoked on"
[ ! -e recv2 ] && [ ! -e recv2.receipt.json ] || fail "a revoked receiver released the package"

# --- The receivers judged at import (custody-log import-receipt): revoked after a time-stamped
# receipt passes; revoked with nothing to prove the receipt came first records nothing; a status
# nothing settles is imported and said. ---
cp src.bin three.bin
"$ACQUIRE" three.bin -o three -q
run "$CUSTODY_BIN/custody-pack" three.aff4 -o pkg3.tar --key pki/good.key --cert pki/good.pem \
  --chain pki/ca.pem "${facts[@]}"
expect_rc 0
run "$CUSTODY_BIN/custody-receive" pkg3.tar -o recv3 --key pki/crl-only.key \
  --cert pki/crl-only.pem --chain pki/ca.pem --trust pki/ca.pem
expect_rc 0
expect_stdout "level     CAdES B-B"
sleep 1.1
revoke_signer ocsp-only
revoke_signer crl-only
import_receipt() {
  run "$LOG" import-receipt "$1" "$2" --trust pki/ca.pem --by-key pki/good.key \
    --by-cert pki/good.pem --by-chain pki/ca.pem "${@:3}"
}
import_receipt two.aff4 recv.receipt.json --tsa-trust tsa/tsa-ca.pem --online
expect_rc 0
expect_stdout "receiver's certificate: not revoked (OCSP response of"
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"
unzip -p two.aff4 custody/log/event-4.json | jq -e '.details.receiver_etsi == "TOTAL-PASSED"' \
  >/dev/null || fail "the delivery-confirmed event does not keep the receiver's outcome"
before=$(sha256sum <three.aff4)
import_receipt three.aff4 recv3.receipt.json --online
expect_rc 65
expect_stderr "whose certificate was revoked on"
expect_stderr "nothing was recorded"
[ "$(sha256sum <three.aff4)" = "$before" ] || fail "a revoked receiver's receipt was recorded"
import_receipt three.aff4 recv3.receipt.json --online --json
expect_rc 65
expect_json custody-error
import_receipt three.aff4 recv3.receipt.json --json
expect_rc 0
jq -e '.receiver_etsi | .indication == "INDETERMINATE" and .sub_indication == "TRY_LATER"' \
  stdout >/dev/null || fail "--json: the unsettled receiver: $(cat stdout)"
expect_stderr "the receiver's revocation status is NOT CHECKED"
exit 0
