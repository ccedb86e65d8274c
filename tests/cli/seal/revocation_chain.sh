# CAdES B-LT over a chain with an intermediate CA (EN 319 122-1: revocation values for the whole
# certification path), and the CA's revocation at verification (EN 319 102-1: a CA revoked with no
# proof that the signature came first is INDETERMINATE/REVOKED_CA_NO_POE). The test PKI's sub-CA
# is found through the root's OCSP responder and CRL; its signer through the sub-CA's own CRL.
source "$(dirname "$0")/../lib.sh"
source "$CUSTODY_SOURCE_DIR/tests/support/revocation_pki.sh"
command -v python3 >/dev/null || skip "python3 missing"
start_tsa normal
start_revocation_pki
make_source src.bin 100000
for name in chain later partial offline refused; do
  cp src.bin "$name.bin"
  "$ACQUIRE" "$name.bin" -o "$name" -q
done
TRUSTED=(--trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem)
SUB_CA="Custody Revocation Test Sub-CA"

# seal_as CONTAINER [OPTION...]: a seal by the sub-CA's signer, its chain given, with the TSA.
seal_as() {
  local container=$1
  shift
  run "$SEAL" "$container.aff4" --key pki/sub-signer.key --cert pki/sub-signer.pem \
    --chain pki/sub-chain.pem --tsa "$TSA_URL" "$@"
}

# --- B-LT: the signer's status (the sub-CA's CRL) and the sub-CA's (the root's OCSP response). ---
seal_as chain
expect_rc 0
expect_stdout "level    CAdES B-LT"
expect_stdout ": not revoked (embedded)"
expect_stdout ": CA $SUB_CA not revoked (embedded)"
unzip -p chain.aff4 custody/seal-1.p7s >chain.p7s
python3 "$CUSTODY_SOURCE_DIR/tests/support/cms_fields.py" chain.p7s chain.cms >chain.cms.json ||
  fail "cms_fields.py cannot read the seal"
jq -e '.crls == 1 and .ocsp_responses == 1' chain.cms.json >/dev/null ||
  fail "B-LT over the chain: expected the sub-CA's CRL and the root's OCSP response about the sub-CA"
# Stock openssl on each piece: the CRL is the sub-CA's, the OCSP response says the sub-CA is good.
openssl crl -inform DER -in chain.cms/crl-1.der -CAfile pki/sub-chain.pem -noout >crl.txt 2>&1 || true
grep -q 'verify OK' crl.txt || fail "openssl crl rejects the embedded CRL: $(cat crl.txt)"
openssl ocsp -respin chain.cms/ocsp-1.der -issuer pki/ca.pem -cert pki/sub-ca.pem -CAfile pki/ca.pem \
  -no_nonce >ocsp.txt 2>&1 || fail "openssl ocsp rejects the embedded response: $(cat ocsp.txt)"
grep -q 'pki/sub-ca.pem: good' ocsp.txt || fail "the embedded OCSP response does not say the sub-CA is good"
unzip -p chain.aff4 custody/seal-1.json >chain.json
openssl cms -verify -binary -inform DER -in chain.p7s -content chain.json -CAfile pki/ca.pem \
  -out /dev/null 2>/dev/null || fail "openssl cms -verify rejects the B-LT seal"
run "$VERIFY" chain.aff4 "${TRUSTED[@]}"
expect_rc 0
expect_stdout "; CA $SUB_CA: not revoked (OCSP response of"
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"
run "$VERIFY" chain.aff4 "${TRUSTED[@]}" --json
expect_json custody-verification
jq -e '.seals[0].etsi | .indication == "TOTAL-PASSED" and .cades_level == "B-LT"' stdout >/dev/null ||
  fail "--json: B-LT over the chain"

# --- Only the signer's status given offline, no fetching: B-T, and the missing CA is named. ---
seal_as partial --revocation-data pki/crl/sub-ca.crl --no-revocation-fetch
expect_rc 0
expect_stdout "level    CAdES B-T"
expect_stderr "no revocation data (B-LT) for CA $SUB_CA: none was given, and fetching it is off"
run "$VERIFY" partial.aff4 "${TRUSTED[@]}"
expect_rc 0
expect_stdout "NOT CHECKED: revocation of the signer of seal 1: not revoked (CRL of"
expect_stdout "; no revocation data for the certificate of CA $SUB_CA; not asked online"
expect_stdout "INDETERMINATE/TRY_LATER"
# Both pieces offline: B-LT with no network at all.
ocsp_query sub-ca -respout sub-ca.ocsp >/dev/null
seal_as offline --revocation-data pki/crl/sub-ca.crl --revocation-data sub-ca.ocsp --no-revocation-fetch
expect_rc 0
expect_stdout "level    CAdES B-LT"

# --- The sub-CA revoked after a time-stamped seal: passes, the proof named; without a trusted
# time nothing proves the seal came first: INDETERMINATE/REVOKED_CA_NO_POE, a failed seal. ---
seal_as later --no-revocation-fetch
expect_rc 0
expect_stdout "level    CAdES B-T"
sleep 1.1  # the revocation falls in a later second than the time-stamp
revoke_signer sub-ca
[ "$(ocsp_status sub-ca)" = revoked ] || fail "the responder does not say the sub-CA is revoked"
run "$VERIFY" later.aff4 "${TRUSTED[@]}" --online
expect_rc 0
expect_stdout "; CA $SUB_CA: revoked on"
expect_stdout "after the signature was proven to exist at"
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"
run "$VERIFY" later.aff4 --trust pki/ca.pem --online
expect_rc 1
expect_stdout "the certificate of CA $SUB_CA, which vouches for the signer, was revoked on"
expect_stdout "no trusted time proves the signature was made before"
expect_stdout "[ETSI EN 319 102-1: INDETERMINATE/REVOKED_CA_NO_POE]"
run "$VERIFY" later.aff4 --trust pki/ca.pem --online --json
expect_rc 1
expect_json custody-verification
jq -e '.verdict == "failed" and .seals[0].etsi.sub_indication == "REVOKED_CA_NO_POE"' stdout \
  >/dev/null || fail "--json: a revoked CA"
# The B-LT seal made before the revocation keeps passing on its embedded data.
run "$VERIFY" chain.aff4 "${TRUSTED[@]}"
expect_rc 0
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"

# --- Signing under a revoked CA is refused, online and offline, the container untouched. ---
before=$(sha256sum refused.aff4)
seal_as refused
expect_rc 64
expect_stderr "the certificate of CA $SUB_CA, which vouches for the signer, was revoked on"
expect_stderr "nothing was signed or changed"
seal_as refused --revocation-data pki/crl/ca.crl --no-revocation-fetch
expect_rc 64
expect_stderr "was revoked on"
[ "$before" = "$(sha256sum refused.aff4)" ] || fail "a refused seal changed the container"
exit 0
