# A key of type RSASSA-PSS (a file) seals with an RSASSA-PSS signature that says so. Before, the
# SignerInfo said rsaEncryption over a PSS signature: custody-verify rightly called such a seal
# forged or damaged, and stock openssl rejected it too.
source "$(dirname "$0")/../lib.sh"
SEAL="$CUSTODY_BIN/custody-seal"
make_identities
make_source src.bin 50000
"$ACQUIRE" src.bin -o img -q
openssl genpkey -quiet -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out pss.key
chmod 600 pss.key
openssl req -new -key pss.key -subj "/CN=Test Examiner PSS/O=Custody Test Lab/C=DE" -out pss.csr
printf '[s]\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n' >ext.cnf
openssl x509 -req -in pss.csr -CA keys/ca.pem -CAkey keys/ca.key -days 30 -extfile ext.cnf \
  -extensions s -out pss.pem 2>/dev/null
run "$SEAL" img.aff4 --key pss.key --cert pss.pem
expect_rc 0
run "$VERIFY" img.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "INTACT: the image is unchanged since it was sealed by Test Examiner PSS"
unzip -p img.aff4 custody/seal-1.p7s >seal.p7s
unzip -p img.aff4 custody/seal-1.json >seal.json
openssl cms -verify -binary -inform DER -in seal.p7s -content seal.json -CAfile keys/ca.pem \
  -out /dev/null 2>/dev/null || fail "openssl cms -verify rejects the PSS seal"
openssl cms -cmsout -print -inform DER -in seal.p7s | grep -q 'algorithm: rsassaPss' ||
  fail "the seal's signature algorithm is not RSASSA-PSS"
