# Receiving the same package twice is said plainly: an output directory or a receipt that holds a
# package received before names that package (and when), and a bag whose containers already hold
# the package's "received" event is refused as received already. Nothing is changed.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source a.bin 200000
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
"$PACK" disk1.aff4 -o transfer.tar --key keys/examiner.key --cert keys/examiner.pem -q
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)
run "$RECEIVE" transfer.tar -o got "${receiver[@]}" -q
expect_rc 0
id=$(jq -r .package_id got.receipt.json)
at=$(jq -r .received_at got.receipt.json)
find got got.receipt.json* -type f -exec sha256sum {} + | sort >before

run "$RECEIVE" transfer.tar -o got "${receiver[@]}"
expect_rc 73
expect_stderr "it holds package $id, received"
expect_stderr "it was received already"
run "$RECEIVE" transfer.tar -o got2 --receipt got.receipt.json "${receiver[@]}"
expect_rc 73
expect_stderr "it holds package $id, received at $at"
[ ! -e got2 ] || fail "received a second time"
run "$RECEIVE" got -o got3 "${receiver[@]}"
expect_rc 73
expect_stderr "this package was received already: data/disk1.aff4 holds its \"received\" custody event"
[ ! -e got3 ] || fail "a received bag was received again"
find got got.receipt.json* -type f -exec sha256sum {} + | sort | diff before - ||
  fail "the received bag or its receipt changed"
