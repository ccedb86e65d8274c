# CAdES B-T and B-LT seals and revocation checking (EN 319 102-1), with a loopback test PKI: an
# OCSP responder and a CRL distribution point (tests/support/revocation_pki.sh) and the test TSA.
# Signers that are good, revoked after a time-stamped seal (passes, the proof named), revoked
# before it (fails), revoked with no proof of existence (fails: INDETERMINATE/REVOKED_NO_POE),
# unknown to the responder, and a responder that is down. The attributes are checked in the DER
# with a parser of our own (tests/support/cms_fields.py) and with stock openssl cms/ts/ocsp/crl.
source "$(dirname "$0")/../lib.sh"
source "$CUSTODY_SOURCE_DIR/tests/support/revocation_pki.sh"
command -v python3 >/dev/null || skip "python3 missing"
start_tsa normal
start_revocation_pki
make_source src.bin 200000
for name in good later early unknown down crl offline refused; do
  cp src.bin "$name.bin"
  "$ACQUIRE" "$name.bin" -o "$name" -q
done
TRUSTED=(--trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem)

# seal_as SIGNER CONTAINER [OPTION...]: a seal by a signer of the test PKI, with the TSA.
seal_as() {
  local signer=$1 container=$2
  shift 2
  run "$SEAL" "$container.aff4" --key "pki/$signer.key" --cert "pki/$signer.pem" \
    --chain pki/ca.pem --tsa "$TSA_URL" "$@"
}

# fields CONTAINER: the seal's signature decoded into ./CONTAINER.cms (cms_fields.py).
fields() {
  unzip -p "$1.aff4" custody/seal-1.p7s >"$1.p7s"
  python3 "$CUSTODY_SOURCE_DIR/tests/support/cms_fields.py" "$1.p7s" "$1.cms" >"$1.cms.json" ||
    fail "cms_fields.py cannot read the seal of $1"
}

# --- A good signer: B-LT, the OCSP response inside. ---
seal_as good good
expect_rc 0
expect_stdout "level    CAdES B-LT"
expect_stdout "status   OCSP response of"
expect_stdout ": not revoked (embedded)"
fields good
jq -e '.signed_attributes | index("1.2.840.113549.1.9.16.2.47") and index("1.2.840.113549.1.9.5")
  and index("1.2.840.113549.1.9.3") and index("1.2.840.113549.1.9.4")' good.cms.json >/dev/null ||
  fail "B-B: a signed attribute is missing (signing-certificate-v2, signing-time, content-type, message-digest)"
[ "$(jq -r .ess_certificate_sha256 good.cms.json)" = \
  "$(openssl x509 -in pki/good.pem -outform DER | sha256sum | cut -d' ' -f1)" ] ||
  fail "the ESS signing-certificate-v2 hash is not SHA-256 of the signer's certificate"
jq -e '.unsigned_attributes == ["1.2.840.113549.1.9.16.2.14"] and .ocsp_responses == 1 and .crls == 0' \
  good.cms.json >/dev/null || fail "B-LT: expected the signature time-stamp and one OCSP response"
# Stock openssl on what we embedded: the time-stamp is over the signature value, the OCSP
# response says good, the signature still verifies, and the .tsr recipe still works.
openssl ts -verify -data good.cms/signature-value.bin -in good.cms/timestamp-token.der -token_in \
  -CAfile tsa/tsa-ca.pem >/dev/null 2>&1 || fail "openssl ts rejects the signature time-stamp"
openssl ocsp -respin good.cms/ocsp-1.der -issuer pki/ca.pem -cert pki/good.pem -CAfile pki/ca.pem -no_nonce \
  >ocsp.txt 2>&1 || fail "openssl ocsp rejects the embedded response: $(cat ocsp.txt)"
grep -q 'pki/good.pem: good' ocsp.txt || fail "the embedded OCSP response does not say good"
unzip -p good.aff4 custody/seal-1.json >good.json
openssl cms -verify -binary -inform DER -in good.p7s -content good.json -CAfile pki/ca.pem \
  -out /dev/null 2>/dev/null || fail "openssl cms -verify rejects the B-LT seal"
unzip -p good.aff4 custody/seal-1.tsr >good.tsr
openssl ts -verify -data good.p7s -in good.tsr -token_in -CAfile tsa/tsa-ca.pem >/dev/null 2>&1 ||
  fail "the seal-1.tsr recipe no longer verifies"
run "$VERIFY" good.aff4 "${TRUSTED[@]}"
expect_rc 0
expect_stdout "signer not revoked (OCSP response of"
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"
grep -q 'NOT CHECKED: revocation of the signer of seal' stdout && fail "a B-LT seal's revocation said not checked"
run "$VERIFY" good.aff4 "${TRUSTED[@]}" --json
expect_json custody-verification
jq -e '.seals[0].etsi | .indication == "TOTAL-PASSED" and .cades_level == "B-LT"
  and (.proof_of_existence.by | startswith("signature time-stamp by"))' stdout >/dev/null ||
  fail "--json: the seal's ETSI validation"

# --- Revoked after a time-stamped seal: TOTAL-PASSED, the proof named. The seal carries no
# revocation data (--no-revocation-fetch), so the verifier asks online. ---
seal_as revoked-later later --no-revocation-fetch
expect_rc 0
expect_stdout "level    CAdES B-T"
sleep 1.1  # the revocation falls in a later second than the time-stamp
revoke_signer revoked-later
run "$VERIFY" later.aff4 "${TRUSTED[@]}"
expect_rc 0
expect_stdout "NOT CHECKED: revocation of the signer of seal 1: no revocation data"
run "$VERIFY" later.aff4 "${TRUSTED[@]}" --online
expect_rc 0
expect_stdout "after the signature was proven to exist at"
expect_stdout "(signature time-stamp by"
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"

# --- Revoked before the seal's proven time: TOTAL-FAILED/REVOKED. And signing with a revoked
# certificate is refused, the container untouched. ---
seal_as revoked-early early --no-revocation-fetch
expect_rc 0
revoke_signer revoked-early 20250101000000Z
run "$VERIFY" early.aff4 "${TRUSTED[@]}" --online
expect_rc 1
expect_stdout "whose certificate was revoked on 2025-01-01T00:00:00Z, before the seal's proven time"
expect_stdout "[ETSI EN 319 102-1: TOTAL-FAILED/REVOKED]"
run "$VERIFY" early.aff4 "${TRUSTED[@]}" --online --json
expect_rc 1
expect_json custody-verification
jq -e '.verdict == "failed" and .seals[0].etsi.sub_indication == "REVOKED"
  and .seals[0].etsi.revoked_at == "2025-01-01T00:00:00Z"' stdout >/dev/null ||
  fail "--json: a revoked signer"
# Without a trusted time (no --tsa-trust) nothing proves the seal came first.
run "$VERIFY" early.aff4 --trust pki/ca.pem --online
expect_rc 1
expect_stdout "no trusted time proves the seal was made before"
expect_stdout "INDETERMINATE/REVOKED_NO_POE"
before=$(sha256sum refused.aff4)
seal_as revoked-early refused
expect_rc 64
expect_stderr "was revoked on 2025-01-01T00:00:00Z"
expect_stderr "nothing was signed or changed"
[ "$before" = "$(sha256sum refused.aff4)" ] || fail "a refused seal changed the container"

# --- Unknown to the responder: B-T, and the verifier cannot settle it. ---
seal_as unknown unknown
expect_rc 0
expect_stdout "level    CAdES B-T"
expect_stderr "does not know the signer's certificate"
run "$VERIFY" unknown.aff4 "${TRUSTED[@]}" --online
expect_rc 0
expect_stdout "NOT CHECKED: revocation of the signer of seal 1: the OCSP responder does not know"
expect_stdout "INDETERMINATE/TRY_LATER"

# --- A signer with only a CRL distribution point: the CRL is embedded. ---
seal_as crl-only crl
expect_rc 0
expect_stdout "level    CAdES B-LT"
expect_stdout "status   CRL of"
fields crl
jq -e '.crls == 1 and .ocsp_responses == 0' crl.cms.json >/dev/null || fail "B-LT: expected one CRL"
openssl crl -inform DER -in crl.cms/crl-1.der -CAfile pki/ca.pem -noout >crl.txt 2>&1 || true
grep -q 'verify OK' crl.txt || fail "openssl crl rejects the embedded CRL: $(cat crl.txt)"
run "$VERIFY" crl.aff4 "${TRUSTED[@]}"
expect_rc 0
expect_stdout "signer not revoked (CRL of"

# --- An offline lab brings the OCSP response as a file; one about someone else is refused. ---
ocsp_query good -respout good.ocsp >/dev/null
ocsp_query revoked-later -respout later.ocsp >/dev/null
seal_as good offline --revocation-data later.ocsp --no-revocation-fetch
expect_rc 64
expect_stderr "about another certificate"
seal_as good offline --revocation-data src.bin --no-revocation-fetch
expect_rc 65
expect_stderr "neither a CRL"
seal_as good offline --revocation-data good.ocsp --no-revocation-fetch
expect_rc 0
expect_stdout "level    CAdES B-LT"

# --- Responders down: the seal is B-T and says so; the verifier says what it could not ask. ---
stop_ocsp
stop_crl_server
seal_as good down
expect_rc 0
expect_stdout "level    CAdES B-T"
expect_stderr "is CAdES B-T, not B-LT: no revocation data (B-LT): cannot connect to the OCSP responder"
run "$VERIFY" down.aff4 "${TRUSTED[@]}" --online --online-timeout 3
expect_rc 0
expect_stdout "NOT CHECKED: revocation of the signer of seal 1: no revocation data for the signer's certificate; asked online: cannot connect"
start_ocsp
start_crl_server
exit 0
