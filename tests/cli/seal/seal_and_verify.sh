# An examiner seals a container, a witness adds a second seal; custody-verify checks both against
# the lab's CA, and the stock openssl commands of the man page verify the same seals.
source "$(dirname "$0")/../lib.sh"
make_identities
make_source src.bin 2000000
"$ACQUIRE" src.bin -o img -q --examiner "Test Examiner"
run "$SEAL" img.aff4 --key keys/examiner.key --cert keys/examiner.pem
expect_rc 0
expect_stdout "sealed img.aff4 (seal 1) by"
expect_stdout "CN=Test Examiner"
before=$(stat -c %s img.aff4)
run "$SEAL" img.aff4 --key keys/witness.key --cert keys/witness.pem --json
expect_rc 0
jq -e '.seal == 2 and .sealed_length == '"$before" stdout >/dev/null || fail "second seal covers the first"
run "$VERIFY" img.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "seal 1 (C=DE,O=Custody Test Lab,CN=Test Examiner): signed"
expect_stdout "seal 2 (C=DE,O=Custody Test Lab,CN=Test Witness): signed"
run "$VERIFY" img.aff4
expect_rc 0
expect_stdout "but the signer is not checked (no trust anchors given); give the signer's CA with --trust"
# Stock tools, exactly as custody-seal(1) shows them.
mkdir stock && (cd stock && unzip -q ../img.aff4 'custody/seal-*')
for n in 1 2; do
  openssl cms -verify -binary -inform DER -in "stock/custody/seal-$n.p7s" \
    -content "stock/custody/seal-$n.json" -CAfile keys/ca.pem -out /dev/null 2>/dev/null ||
    fail "openssl cms -verify rejects seal $n"
  # CAdES B-B: the ESS signing-certificate-v2 attribute names the signer's certificate.
  openssl cms -verify -cades -binary -inform DER -in "stock/custody/seal-$n.p7s" \
    -content "stock/custody/seal-$n.json" -CAfile keys/ca.pem -out /dev/null 2>/dev/null ||
    fail "openssl cms -verify -cades rejects seal $n"
done
sealed=$(jq -r .sealed_length stock/custody/seal-1.json)
[ "$(head -c "$sealed" img.aff4 | sha256sum | cut -d' ' -f1)" = "$(jq -r .sealed_sha256 stock/custody/seal-1.json)" ] ||
  fail "head -c | sha256sum must reproduce sealed_sha256"
printf 'X' >>stock/custody/seal-1.json
if openssl cms -verify -binary -inform DER -in stock/custody/seal-1.p7s \
  -content stock/custody/seal-1.json -CAfile keys/ca.pem -out /dev/null 2>/dev/null; then
  fail "openssl accepted a changed manifest"
fi
# Sealing during acquisition.
run "$ACQUIRE" src.bin -o at-once --seal-key keys/examiner.key --seal-cert keys/examiner.pem
expect_rc 0
expect_stdout "sealed  seal 1 by"
run "$VERIFY" at-once.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "signer trusted"
