# Transfer packages end to end: tar, zip and directory, one and several items, encrypted to one
# and to two receivers; each is received (checks, "received" events, signed receipt), checked with
# stock tools, and the receipt confirms delivery on the sender's side.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source a.bin 700000 one
make_source b.bin 500000 two
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
"$ACQUIRE" b.bin -o phone -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
sender=(--key keys/examiner.key --cert keys/examiner.pem)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)
facts=(--sending-authority 'BKA Wiesbaden' --receiving-authority 'Parquet de Paris'
  --requested-state DE --requesting-state FR --legal-basis EIO --reference EIO-2026-17
  --purpose 'criminal proceedings 17/26' --use-limits 'only for proceedings 17/26')

# A tar with two items.
run "$PACK" disk1.aff4 phone.aff4 -o transfer.tar "${sender[@]}" "${facts[@]}"
expect_rc 0
expect_stdout "packed 2 items into transfer.tar"
mkdir stock && tar xf transfer.tar -C stock
(cd stock/transfer &&
  openssl cms -verify -binary -inform DER -in custody/tagmanifest-sha256.txt.p7s \
    -content tagmanifest-sha256.txt -CAfile ../../keys/ca.pem -out /dev/null 2>/dev/null &&
  sha256sum -c --quiet tagmanifest-sha256.txt && sha256sum -c --quiet manifest-sha256.txt) ||
  fail "stock openssl/sha256sum do not verify the package"
grep -q '^Requesting-State: FR$' stock/transfer/bag-info.txt || fail "bag-info lacks the states"
grep -q '^Payload-Oxum: ' stock/transfer/bag-info.txt || fail "bag-info lacks Payload-Oxum"
[ "$(jq -r '.facts.use_limits' stock/transfer/custody/transfer.json)" = 'only for proceedings 17/26' ] ||
  fail "transfer.json lacks the use limits"
[ "$("$LOG" show --json disk1.aff4 | jq -r '.events[-1].action')" = packaged ] ||
  fail "no packaged event in the sender's container"

run "$RECEIVE" transfer.tar -o received "${receiver[@]}"
expect_rc 0
expect_stdout "RECEIVED: transfer.tar"
expect_stdout "PASS  sender"
expect_stdout "PASS  data/disk1.aff4"
[ -f received.receipt.json ] && [ -f received.receipt.json.p7s ] || fail "no receipt"
openssl cms -verify -binary -inform DER -in received.receipt.json.p7s -content received.receipt.json \
  -CAfile keys/ca.pem -out /dev/null 2>/dev/null || fail "stock openssl does not verify the receipt"
run "$LOG" verify received/data/phone.aff4 --trust keys/ca.pem
expect_rc 0
[ "$("$LOG" show --json received/data/phone.aff4 | jq -r '.events[-1].action')" = received ] ||
  fail "no received event"
# The bag describes the containers as they arrived: their first SIZE bytes.
size=$(jq -r '.items[] | select(.payload == "data/phone.aff4") | .size' received.receipt.json)
[ "$(head -c "$size" received/data/phone.aff4 | sha256sum | cut -d' ' -f1)" = \
  "$(awk '$2 == "data/phone.aff4" {print $1}' received/manifest-sha256.txt)" ] ||
  fail "the arrived bytes are not the manifest's"

run "$LOG" import-receipt phone.aff4 received.receipt.json --trust keys/ca.pem \
  --by-key keys/examiner.key --by-cert keys/examiner.pem
expect_rc 0
expect_stdout "delivery confirmed"
[ "$("$LOG" show --json phone.aff4 | jq -r '.events[-1].action')" = delivery-confirmed ] ||
  fail "no delivery-confirmed event"
run "$LOG" import-receipt disk1.aff4 received.receipt.json --trust keys/other-ca.pem \
  --by-key keys/examiner.key --by-cert keys/examiner.pem
expect_rc 65
expect_stderr "does not verify against the given CAs"

# A zip and a directory, one item each.
run "$PACK" disk1.aff4 -o one.zip "${sender[@]}"
expect_rc 0
unzip -tq one.zip >/dev/null || fail "unzip -t fails on the package"
run "$RECEIVE" one.zip -o from-zip "${receiver[@]}" -q
expect_rc 0
run "$PACK" disk1.aff4 -o bagdir "${sender[@]}"
expect_rc 0
run "$RECEIVE" bagdir -o from-dir "${receiver[@]}" -q
expect_rc 0

# Encrypted to two receivers, in several segments: each one decrypts; stock openssl too.
run "$PACK" disk1.aff4 phone.aff4 -o sealed.tar "${sender[@]}" --encrypt-to keys/witness.pem \
  --encrypt-to keys/other-examiner.pem --segment-size 1M
expect_rc 0
[ ! -e sealed.tar ] || fail "the plaintext archive was written"
[ -f sealed.tar.enc.json ] && [ -f sealed.tar.enc.001.p7m ] || fail "no segmented envelope"
run "$RECEIVE" sealed.tar.enc.json -o by-witness "${receiver[@]}"
expect_rc 0
run "$RECEIVE" sealed.tar.enc.json -o by-other --key keys/other-examiner.key \
  --cert keys/other-examiner.pem --trust keys/ca.pem
expect_rc 0
for p7m in $(jq -r '.segments[].envelope' sealed.tar.enc.json); do
  openssl cms -decrypt -binary -inform DER -in "$p7m" -content "${p7m%.p7m}" \
    -inkey keys/witness.key -recip keys/witness.pem 2>/dev/null || fail "stock decrypt of $p7m"
done >stock.tar
tar tf stock.tar >stock.list
grep -q '^sealed/data/phone.aff4$' stock.list || fail "stock-decrypted archive is not the bag"

# With a TSA: the sender's signature is timestamped and checked.
start_tsa
run "$PACK" disk1.aff4 -o timed.tar "${sender[@]}" --tsa "$TSA_URL"
expect_rc 0
run "$RECEIVE" timed.tar -o timed "${receiver[@]}" --tsa-trust tsa/tsa-ca.pem
expect_rc 0
expect_stdout "PASS  time"
