# A bag that custody-receive released verifies as received: custody-verify RECEIVED-DIR, given the
# sender's and the receiver's CAs, says INTACT (each container is, in its first bytes, what the
# sender signed, followed by the receiver's signed "received" event and later events), and still
# catches every other change: a changed byte of what arrived, bytes appended, a container cut back
# to what arrived, a receiver nobody trusts, a changed tag file. Receiving a received bag again is
# refused plainly. (It once said NOT INTACT, sha256 mismatch, for every correctly received bag.)
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source a.bin 400000 one
make_source b.bin 300000 two
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
"$ACQUIRE" b.bin -o phone -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
# The sender (the test CA) and the receiver (the unrelated CA) have CAs of their own.
"$PACK" disk1.aff4 phone.aff4 -o transfer.tar --key keys/examiner.key --cert keys/examiner.pem \
  --sending-authority BKA --receiving-authority 'Parquet de Paris' --legal-basis EIO \
  --reference EIO-2026-17 -q
run "$RECEIVE" transfer.tar -o received --key keys/other-examiner.key \
  --cert keys/other-examiner.pem --trust keys/ca.pem -q
expect_rc 0
both=(--trust keys/ca.pem --trust keys/other-ca.pem)

run "$VERIFY" received "${both[@]}"
expect_rc 0
expect_stdout "INTACT: received transfer package received passes every check"
expect_stdout "PASS  data/disk1.aff4"
expect_stdout "received as event"
run "$VERIFY" received "${both[@]}" --json
expect_rc 0
jq -e '.format == "custody-package-verification" and .verdict == "INTACT" and .received_bag
  and (.items | length) == 2 and (.items[0].received_event > 0)' stdout >/dev/null ||
  fail "the JSON does not say INTACT for a received bag"

# The receiver's later events count as its own: still INTACT.
run "$LOG" add received/data/phone.aff4 --action checked-out --by-key keys/other-examiner.key \
  --by-cert keys/other-examiner.pem --purpose 'examination'
expect_rc 0
run "$VERIFY" received "${both[@]}"
expect_rc 0

# Without the receiver's CA, its events are not vouched for.
run "$VERIFY" received --trust keys/ca.pem
expect_rc 1
expect_stdout "NOT INTACT"

not_intact() { # COPY WHAT: custody-verify of COPY fails, naming WHAT
  run "$VERIFY" "$1" "${both[@]}"
  expect_rc 1
  expect_stdout "NOT INTACT"
  expect_stdout "$2"
}
size=$(jq -r '.items[] | select(.payload == "data/disk1.aff4") | .size' received.receipt.json)
cp -r received changed
flip_byte changed/data/disk1.aff4 $((size / 2))
not_intact changed "data/disk1.aff4"
cp -r received appended
printf 'appended' >>appended/data/disk1.aff4
not_intact appended "data/disk1.aff4"
cp -r received cut
truncate -s "$size" cut/data/disk1.aff4
not_intact cut "data/disk1.aff4"
cp -r received info
sed -i 's/^Legal-Basis: EIO$/Legal-Basis: court order/' info/bag-info.txt
not_intact info "bag-info.txt"

# A received bag is not received again.
run "$RECEIVE" received -o again --key keys/other-examiner.key --cert keys/other-examiner.pem \
  --trust keys/ca.pem
expect_rc 73
expect_stderr "this package was received already"
[ ! -e again ] || fail "a received bag was received again"
