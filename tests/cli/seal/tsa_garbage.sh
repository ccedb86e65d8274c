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
