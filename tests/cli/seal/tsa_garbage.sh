# A TSA answering garbage: the seal is written, not timestamped, with a clear warning.
source "$(dirname "$0")/../lib.sh"
make_identities
make_source src.bin 200000
"$ACQUIRE" src.bin -o img -q
start_tsa garbage
run "$SEAL" img.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsa "$TSA_URL" --tsa-timeout 5
expect_rc 0
expect_stderr "NOT TIMESTAMPED"
run "$VERIFY" img.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "seal 1 is not timestamped"
# The request was kept: a reply obtained later can still be attached.
unzip -p img.aff4 custody/seal-1.tsq >seal.tsq
openssl ts -reply -config tsa/tsa.cnf -queryfile seal.tsq -out seal.tsr 2>/dev/null ||
  fail "the test TSA could not answer the kept request"
run "$SEAL" img.aff4 --add-timestamp seal.tsr
expect_rc 0
run "$VERIFY" img.aff4 --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem
expect_rc 0
expect_stdout "timestamp of seal 1: existed at"
