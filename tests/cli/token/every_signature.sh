# Every signature custody makes can come from a key that never leaves a PKCS#11 token (SoftHSM2,
# keys generated on the token, non-extractable): the acquisition's seal and "acquired" event, a
# later seal, a custody-log event, the "exported" and "verified" events, the sender's package
# signature and the receiver's receipt; RSA and EC keys; the module given, taken from the URI,
# or found through p11-kit's proxy; the certificate from the token or from --cert. Stock
# `openssl cms -verify` accepts each signature, and custody-verify finds the whole chain intact.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
SEAL="$CUSTODY_BIN/custody-seal"
EXPORT="$CUSTODY_BIN/custody-export"
PACK="$CUSTODY_BIN/custody-pack"
make_token
make_source src.bin 300000
examiner="$TOKEN;object=examiner-token;type=private"
rsa="$TOKEN;id=%02"

# stock_verify P7S CONTENT: the detached signature verifies with stock openssl against the CA,
# with its ESS signing-certificate-v2 attribute (CAdES B-B).
stock_verify() {
  openssl cms -verify -cades -binary -inform DER -in "$1" -content "$2" -CAfile keys/ca.pem \
    -out /dev/null 2>/dev/null || fail "openssl cms -verify rejects $1"
}
# signer_of P7S: the subject of the signature's signer certificate.
signer_of() {
  openssl cms -cmsout -print -inform DER -in "$1" 2>/dev/null | grep -m1 -o 'CN=Token [A-Za-z ]*'
}
member() { unzip -p "$1" "$2" >"$3" || fail "no member $2 in $1"; }

# Acquisition sealed with the EC token key; the certificate comes from the token; the module is
# named on the command line.
run "$ACQUIRE" src.bin -o disk --case C-1 --examiner E --seal-key "$examiner" \
  --pkcs11-module "$SOFTHSM_MODULE" --passphrase-file "$PIN"
expect_rc 0
expect_stdout "sealed  seal 1 by C=DE,O=Custody Test Lab,CN=Token Examiner"
mkdir stock
member disk.aff4 custody/seal-1.p7s stock/seal-1.p7s
member disk.aff4 custody/seal-1.json stock/seal-1.json
stock_verify stock/seal-1.p7s stock/seal-1.json
member disk.aff4 custody/log/event-1.p7s stock/event-1.p7s
member disk.aff4 custody/log/event-1.json stock/event-1.json
stock_verify stock/event-1.p7s stock/event-1.json
[ "$(signer_of stock/event-1.p7s)" = "CN=Token Examiner" ] || fail "event 1 not signed by the token key"

# A second seal with the RSA key (by id), the module from the URI, the certificate given.
run "$SEAL" disk.aff4 --key "$rsa;type=private?module-path=$SOFTHSM_MODULE" \
  --cert token/token-receiver-rsa.pem --passphrase-file "$PIN"
expect_rc 0
member disk.aff4 custody/seal-2.p7s stock/seal-2.p7s
member disk.aff4 custody/seal-2.json stock/seal-2.json
stock_verify stock/seal-2.p7s stock/seal-2.json
openssl cms -cmsout -print -inform DER -in stock/seal-2.p7s | grep -q 'algorithm: sha256WithRSAEncryption\|algorithm: rsaEncryption' ||
  fail "seal 2 is not an RSA signature"

# ECDSA P-384 (with SHA-384) on the token.
run "$SEAL" disk.aff4 --key "$TOKEN;object=examiner-p384" --passphrase-file "$PIN"
expect_rc 0
member disk.aff4 custody/seal-3.p7s stock/seal-3.p7s
member disk.aff4 custody/seal-3.json stock/seal-3.json
stock_verify stock/seal-3.p7s stock/seal-3.json
openssl cms -cmsout -print -inform DER -in stock/seal-3.p7s | grep -q 'ecdsa-with-SHA384' ||
  fail "seal 3 is not ECDSA with SHA-384"

# RSASSA-PSS: the key's certificate is id-RSASSA-PSS, so OpenSSL pads PSS and the token does raw
# RSA (CKM_RSA_X_509).
run "$SEAL" disk.aff4 --key "$TOKEN;object=examiner-pss" --passphrase-file "$PIN"
expect_rc 0
member disk.aff4 custody/seal-4.p7s stock/seal-4.p7s
member disk.aff4 custody/seal-4.json stock/seal-4.json
stock_verify stock/seal-4.p7s stock/seal-4.json
openssl cms -cmsout -print -inform DER -in stock/seal-4.p7s | grep -q 'algorithm: rsassaPss' ||
  fail "seal 4 is not RSASSA-PSS"

# A key that wants the PIN again for each signature (CKA_ALWAYS_AUTHENTICATE): SoftHSM2 refuses
# C_Sign without that second login.
run "$SEAL" disk.aff4 --key "$TOKEN;object=examiner-always" --passphrase-file "$PIN"
expect_rc 0
expect_stdout "sealed disk.aff4 (seal 5) by C=DE,O=Custody Test Lab,CN=Token Examiner Always"

# A custody event through p11-kit's proxy (no module named), the PIN from the URI's pin-source.
run "$LOG" add disk.aff4 --action transferred --role courier \
  --by-key "$examiner?pin-source=file:$WORK/$PIN"
expect_rc 0
# Export and verification record their events with the token key.
run "$EXPORT" disk.aff4 -o disk.raw --by-key "$examiner" --passphrase-file "$PIN"
expect_rc 0
cmp -s disk.raw src.bin || fail "the export differs from the source"
run "$VERIFY" disk.aff4 --trust keys/ca.pem --record --by-key "$examiner" --passphrase-file "$PIN"
expect_rc 0
# Every event and every tree head of the log: signed on a token, and stock openssl agrees.
signatures=$(unzip -Z1 disk.aff4 'custody/log/*.p7s')
[ "$(wc -w <<<"$signatures")" -ge 12 ] || fail "expected at least 6 events and 6 tree heads"
for p7s in $signatures; do
  name=$(basename "$p7s" .p7s)
  member disk.aff4 "$p7s" "stock/$name.p7s"
  member disk.aff4 "custody/log/$name.json" "stock/$name.json"
  stock_verify "stock/$name.p7s" "stock/$name.json"
  signer_of "stock/$name.p7s" >/dev/null || fail "$p7s is not signed by a token key"
done
run "$LOG" show disk.aff4 --json
for action in acquired sealed transferred exported verified; do
  jq -e --arg a "$action" '[.events[] | select(.action == $a)] | length > 0' stdout >/dev/null ||
    fail "no $action event"
done
run "$LOG" verify disk.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "custody log INTACT"

# The sender signs the package on the token; it is encrypted to an RSA and an EC token key.
run "$PACK" disk.aff4 -o transfer.tar --key "$examiner" --passphrase-file "$PIN" \
  --sending-authority BKA --legal-basis EIO --reference EIO-7 \
  --encrypt-to token/token-receiver-rsa.pem --encrypt-to token/token-receiver-ec.pem
expect_rc 0
# Each receiver decrypts on the token (C_Decrypt for RSA, C_DeriveKey for EC). The RSA key signs
# the receipt too; the EC key's certificate allows key agreement only, so a second token key signs
# (--by-key), and without one nothing is received.
run "$CUSTODY_BIN/custody-receive" transfer.tar.enc.json -o in-refused --trust keys/ca.pem \
  --key "$TOKEN;object=receiver-ec;type=private" --passphrase-file "$PIN"
expect_rc 64
expect_stderr "does not allow signing documents"
[ ! -e in-refused ] || fail "a package was released without a signed receipt"
for receiver in receiver-rsa receiver-ec; do
  signer=()
  [ "$receiver" = receiver-rsa ] || signer=(--by-key "$examiner")
  run "$CUSTODY_BIN/custody-receive" transfer.tar.enc.json -o "in-$receiver" --trust keys/ca.pem \
    --key "$TOKEN;object=$receiver;type=private" "${signer[@]}" --passphrase-file "$PIN"
  expect_rc 0
  expect_stdout "PASS  sender"
  stock_verify "in-$receiver.receipt.json.p7s" "in-$receiver.receipt.json"
  expected_signer="CN=Token Receiver RSA"
  [ "$receiver" = receiver-rsa ] || expected_signer="CN=Token Examiner"
  [ "$(signer_of "in-$receiver.receipt.json.p7s")" = "$expected_signer" ] ||
    fail "$receiver: the receipt is not signed by $expected_signer"
  cmp -s <("$EXPORT" "in-$receiver/data/disk.aff4" -o - -q --no-record) src.bin ||
    fail "$receiver: the received image differs from the source"
done
# custody-verify checks the encrypted package with a token key too.
run "$VERIFY" transfer.tar.enc.json --trust keys/ca.pem --key "$TOKEN;object=receiver-ec" \
  --passphrase-file "$PIN"
expect_rc 0
expect_stdout "INTACT: transfer package"

# Nothing the tools wrote holds a private key (the only key files are the test CA's and the test
# identities', made by openssl in keys/).
if grep -rlE 'PRIVATE KEY|ENCRYPTED PRIVATE' --exclude-dir=keys --exclude-dir=tokens . >leaked.txt; then
  fail "a private key was written: $(cat leaked.txt)"
fi
