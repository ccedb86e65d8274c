# custody-seal --renew: an archive time-stamp over every seal, event, tree head and time-stamp so
# far, recorded as a "renewed" event. It is proof of existence: a seal made without a TSA by a
# signer revoked after the renewal passes (the archive time-stamp named), the same seal without a
# renewal does not. Renewals chain; a changed covered byte is caught; a TSA that is down writes
# nothing; the stock recipe checks the token.
source "$(dirname "$0")/../lib.sh"
source "$CUSTODY_SOURCE_DIR/tests/support/revocation_pki.sh"
start_tsa normal
start_revocation_pki
make_source src.bin 200000
for name in renewed plain down; do
  cp src.bin "$name.bin"
  "$ACQUIRE" "$name.bin" -o "$name" -q
  "$SEAL" "$name.aff4" --key pki/revoked-later.key --cert pki/revoked-later.pem --chain pki/ca.pem -q ||
    fail "could not seal $name"
done
TRUSTED=(--trust pki/ca.pem --tsa-trust tsa/tsa-ca.pem)

run "$SEAL" renewed.aff4 --renew
expect_rc 64
expect_stderr "--renew needs --tsa URL"
run "$SEAL" renewed.aff4 --renew --tsa "$TSA_URL" --key pki/good.key --cert pki/good.pem
expect_rc 0
expect_stdout "renewed renewed.aff4 (archive time-stamp 1) at"
expect_stdout "1 seal, every custody event"
run "$VERIFY" renewed.aff4 "${TRUSTED[@]}"
expect_rc 0
expect_stdout "archive time-stamp 1: the first"
grep -q 'was added after seal' stdout && fail "the renewal's members broke the seal"
# Stock: the token is over the archive manifest.
unzip -p renewed.aff4 custody/archive-1.json >archive-1.json
unzip -p renewed.aff4 custody/archive-1.tsr >archive-1.tsr
openssl ts -verify -data archive-1.json -in archive-1.tsr -token_in -CAfile tsa/tsa-ca.pem \
  >/dev/null 2>&1 || fail "openssl ts rejects the archive time-stamp"
[ "$(jq -r .covered_sha256 archive-1.json)" = \
  "$(head -c "$(jq -r .covered_length archive-1.json)" renewed.aff4 | sha256sum | cut -d' ' -f1)" ] ||
  fail "the archive manifest's covered_sha256 is not SHA-256 of the covered bytes"

# The signer is revoked after the renewal: the renewal proves the seal came first.
sleep 1.1
revoke_signer revoked-later
run "$VERIFY" renewed.aff4 "${TRUSTED[@]}" --online
expect_rc 0
expect_stdout "after the signature was proven to exist at"
expect_stdout "(archive time-stamp custody/archive-1.tsr by"
expect_stdout "[ETSI EN 319 102-1: TOTAL-PASSED]"
run "$VERIFY" plain.aff4 "${TRUSTED[@]}" --online
expect_rc 1
expect_stdout "INDETERMINATE/REVOKED_NO_POE"

# Renewals chain: the second covers the first.
run "$SEAL" renewed.aff4 --renew --tsa "$TSA_URL" --json
expect_rc 0
expect_json custody-seal-renew-result
expect_stderr "is not signed (no --key)"
run "$VERIFY" renewed.aff4 "${TRUSTED[@]}" --json
expect_rc 0
jq -e '[.archives[] | .proves] == [true, true]' stdout >/dev/null || fail "two archive time-stamps"
unzip -p renewed.aff4 custody/archive-2.json >archive-2.json
jq -e '.members | map(.name) | index("custody/archive-1.tsr")' archive-2.json >/dev/null ||
  fail "the second renewal does not cover the first"

# A changed byte that the seal and the renewals cover.
cp renewed.aff4 tampered.aff4
flip_byte tampered.aff4 "$(member_offset tampered.aff4 custody/seal-1.json)"
run "$VERIFY" tampered.aff4 "${TRUSTED[@]}"
expect_rc 1
expect_stdout "archive time-stamp 1: the first"
expect_stdout "which it covers, changed after it was made"

# A TSA that is down: nothing written.
before=$(sha256sum down.aff4)
run "$SEAL" down.aff4 --renew --tsa http://127.0.0.1:9/ --tsa-timeout 2
expect_rc 74
expect_stderr "no archive time-stamp"
expect_stderr "nothing was written"
[ "$before" = "$(sha256sum down.aff4)" ] || fail "a failed renewal changed the container"
exit 0
