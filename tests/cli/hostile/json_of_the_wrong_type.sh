# Outside JSON whose members have the wrong type (a number for a string, a string for a size)
# or that nests too deep: the tools exit 65 with an error line, never 70 ("internal error") as
# an uncaught exception would. Regression inputs of the fuzz harnesses: tests/fuzz/regressions/.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source src.bin 100000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
"$LOG" prove img.aff4 --event 1 -o proof.json >/dev/null
run "$LOG" check-proof proof.json --trust keys/ca.pem
expect_rc 0

for change in '.leaf_hash = 5' '.tree_size = "x"' '.leaf_index = "x"' '.log_id = []'; do
  jq "$change" proof.json >bad.json
  run "$LOG" check-proof bad.json --trust keys/ca.pem
  [ $RC -eq 65 ] || [ $RC -eq 1 ] || fail "check-proof with $change: exit $RC (expected 65 or 1)"
  [ $RC -eq 1 ] || expect_error_line
done
python3 -c "print('{\"format\":\"custody-inclusion-proof\",\"event\":' + '[' * 300000 + ']' * 300000 + '}')" >deep.json
run "$LOG" check-proof deep.json --trust keys/ca.pem
expect_rc 65
expect_error_line

echo '{"format":5}' >pkg.enc.json
run "$RECEIVE" pkg.enc.json -o got --key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem
expect_rc 65
expect_error_line
[ ! -e got ] || fail "a refused package released got/"
echo '{"format":"custody-envelope","version":"1"}' >pkg.enc.json
run "$RECEIVE" pkg.enc.json -o got --key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem
expect_rc 65
expect_error_line
