# The verdict line names the last valid seal and a confirmed time; when that time belongs to an
# earlier seal (the later one has no timestamp), the line says which seal it is for. Before, "sealed
# by Witness at T2; time confirmed by TSA at T1" read as if the later seal's time were confirmed.
source "$(dirname "$0")/../lib.sh"
SEAL="$CUSTODY_BIN/custody-seal"
make_identities
start_tsa normal
make_source src.bin 50000
"$ACQUIRE" src.bin -o img -q
run "$SEAL" img.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsa "$TSA_URL"
expect_rc 0
run "$VERIFY" img.aff4 --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem
expect_rc 0
head -1 stdout | grep -q "time confirmed by Custody Test TSA at [0-9TZ:-]*;" ||
  fail "one timestamped seal: the time is that seal's, without a seal number"
run "$SEAL" img.aff4 --key keys/witness.key --cert keys/witness.pem
expect_rc 0
run "$VERIFY" img.aff4 --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem
expect_rc 0
head -1 stdout | grep -q "sealed by Test Witness at .*time confirmed by Custody Test TSA at [0-9TZ:-]* for seal 1;" ||
  fail "the confirmed time is not said to be seal 1's"
expect_stdout "warning: seal 2 is not timestamped"
