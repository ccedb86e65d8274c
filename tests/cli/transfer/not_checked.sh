# What custody-verify could not check about a transfer package is said: without --trust the
# sender's signature is NOT CHECKED (and the package NOT INTACT, exit 1), in text with the
# subjects still in one column, and in JSON as "not_checked". An encrypted package without the
# receiver's key is NOT CHECKED too. With --trust the same package is INTACT.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
make_identities
make_source a.bin 100000
"$ACQUIRE" a.bin -o disk -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
sender=(--key keys/examiner.key --cert keys/examiner.pem --sending-authority BKA
  --legal-basis EIO --reference EIO-1)
"$PACK" disk.aff4 -o transfer.tar "${sender[@]}" -q
"$PACK" disk.aff4 -o sealed.tar "${sender[@]}" --encrypt-to keys/witness.pem -q

run "$VERIFY" transfer.tar
expect_rc 1
expect_stdout "NOT INTACT"
# Every check line has its subject in the same column, NOT CHECKED or not.
grep -qE '^  NOT CHECKED  sender {15}no --trust given' "$WORK/stdout" ||
  fail "no aligned NOT CHECKED line for the sender"
grep -qE '^  PASS {9}bag {18}' "$WORK/stdout" || fail "the PASS lines are not aligned with it"

run "$VERIFY" transfer.tar --json
expect_rc 1
jq -e '.format == "custody-package-verification" and (.intact | not) and
  (.checks | any(.subject == "sender" and .result == "not_checked"))' "$WORK/stdout" >/dev/null ||
  fail "the JSON does not say the sender was not checked"

run "$VERIFY" sealed.tar.enc.json --trust keys/ca.pem
expect_rc 1
grep -qE '^  NOT CHECKED  package {14}it is encrypted' "$WORK/stdout" ||
  fail "the encrypted package is not NOT CHECKED"

run "$VERIFY" transfer.tar --trust keys/ca.pem
expect_rc 0
expect_stdout "INTACT"
grep -qE '^  PASS  bag {18}' "$WORK/stdout" || fail "without NOT CHECKED the labels are 4 wide"
