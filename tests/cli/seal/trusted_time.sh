# RFC 3161 trusted time for seals, with a loopback test TSA: online, offline (request out,
# reply in later), a TSA that is down or answers garbage (the seal is still written, "not
# timestamped"), and verification against the right and a wrong TSA CA; stock openssl ts checks
# the same token.
source "$(dirname "$0")/../lib.sh"
make_identities
make_source src.bin 1000000
for name in online offline down garbage; do cp src.bin "$name.bin"; "$ACQUIRE" "$name.bin" -o "$name" -q; done
start_tsa normal

run "$SEAL" online.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsa "$TSA_URL"
expect_rc 0
expect_stdout "RFC 3161 token from"
run "$VERIFY" online.aff4 --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem
expect_rc 0
expect_stdout "timestamp of seal 1: existed at"
run "$VERIFY" online.aff4 --trust keys/ca.pem --tsa-trust tsa/other-tsa-ca.pem
expect_rc 1
expect_stdout "not signed by a TSA the given CAs vouch for"
run "$VERIFY" online.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "that TSA is not trusted here"
# Stock openssl: the token is over the bytes of the seal's signature member.
mkdir stock && (cd stock && unzip -q ../online.aff4 'custody/seal-1.*')
openssl ts -verify -data stock/custody/seal-1.p7s -in stock/custody/seal-1.tsr -token_in \
  -CAfile tsa/tsa-ca.pem >/dev/null 2>&1 || fail "openssl ts -verify rejects the token"
if openssl ts -verify -data stock/custody/seal-1.json -in stock/custody/seal-1.tsr -token_in \
  -CAfile tsa/tsa-ca.pem >/dev/null 2>&1; then
  fail "openssl ts accepted the token for other data"
fi

# Offline: the request goes out on a stick, the reply comes back later.
run "$SEAL" offline.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsq-out seal.tsq
expect_rc 0
openssl ts -reply -config tsa/tsa.cnf -queryfile seal.tsq -out seal.tsr 2>/dev/null ||
  fail "the test TSA could not answer the request"
run "$VERIFY" offline.aff4 --trust keys/ca.pem
expect_stdout "seal 1 is not timestamped"
run "$SEAL" offline.aff4 --add-timestamp seal.tsr
expect_rc 0
expect_stdout "timestamped seal 1 of offline.aff4"
run "$VERIFY" offline.aff4 --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem
expect_rc 0
expect_stdout "timestamp of seal 1: existed at"
run "$SEAL" offline.aff4 --add-timestamp seal.tsr
expect_rc 64
expect_stderr "already timestamped"

# A TSA that is down: the seal is written and said to be NOT TIMESTAMPED.
run "$SEAL" down.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsa http://127.0.0.1:9/ --tsa-timeout 2
expect_rc 0
expect_stderr "NOT TIMESTAMPED"
run "$VERIFY" down.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "signer trusted"
