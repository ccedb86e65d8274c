# The custody log end to end on a container: acquire and seal record their own events, an
# examiner adds one, show lists them, verify checks them (and stock openssl agrees on an event's
# signature), proofs of inclusion and consistency hold, and bad input gets a clear error.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 1000000
"$ACQUIRE" src.bin -o img -q --examiner 'E. Mustermann' --evidence E17 \
  --seal-key keys/examiner.key --seal-cert keys/examiner.pem \
  --location 'Lab 3, Wiesbaden' --jurisdiction DE --legal-basis warrant --legal-reference 'AG WI 4 Gs 17/26'

run "$LOG" show img.aff4
expect_rc 0
expect_stdout "acquired"
expect_stdout "E. Mustermann"
expect_stdout "Lab 3, Wiesbaden, DE"
expect_stdout "warrant AG WI 4 Gs 17/26"
expect_stdout "sealed"

run "$LOG" add img.aff4 --action transferred --by-key keys/witness.key --by-cert keys/witness.pem \
  --role courier --organisation 'BKA' --jurisdiction DE --purpose 'to the central authority' \
  --bag-seal A-100234 --notes 'sealed bag, intact'
expect_rc 0
expect_stdout "recorded event 3 (transferred)"

run "$LOG" show --json img.aff4
expect_rc 0
[ "$(jq '.events | length' stdout)" -eq 3 ] || fail "show --json lists not 3 events"
[ "$(jq -r '.events[2].bag_seals[0]' stdout)" = A-100234 ] || fail "bag seal not recorded"
[ "$(jq -r '.events[0].evidence.exhibit' stdout)" = E17 ] || fail "exhibit number not recorded"
sha256=$(jq -r '.events[0].evidence.image_hashes.sha256' stdout)
[ "$sha256" = "$(digest sha256 src.bin)" ] || fail "event does not carry the image's SHA-256"

run "$LOG" verify img.aff4 --trust keys/ca.pem
expect_rc 0
expect_stdout "3 events, in order, matching 3 tree heads"
expect_stdout "custody log INTACT"
run "$LOG" verify --json img.aff4 --trust keys/ca.pem
[ "$(jq -r .verdict stdout)" = intact ] || fail "--json verdict is not intact"
run "$LOG" verify img.aff4 --trust keys/other-ca.pem
expect_rc 1
expect_stdout "not by a key the given CAs vouch for"

# Stock tools: the event's detached CMS signature over its exact bytes.
unzip -p img.aff4 custody/log/event-3.json >event.json
unzip -p img.aff4 custody/log/event-3.p7s >event.p7s
openssl cms -verify -binary -inform DER -in event.p7s -content event.json -CAfile keys/ca.pem \
  -out /dev/null 2>/dev/null || fail "openssl cms does not verify the event's signature"

# Inclusion proof of one event, checked without the container.
run "$LOG" prove img.aff4 --event 2 -o event2.proof.json
expect_rc 0
run "$LOG" check-proof event2.proof.json --trust keys/ca.pem
expect_rc 0
expect_stdout "included as event 2 of 3"
jq '.leaf_index = 0' event2.proof.json >forged.proof.json
run "$LOG" check-proof forged.proof.json --trust keys/ca.pem
expect_rc 1
expect_stdout "proof FAILS"

# A head kept by the receiver; later events extend it, provably.
run "$LOG" head img.aff4 -o head3.json
expect_rc 0
"$LOG" add img.aff4 --action stored --by-key keys/examiner.key --by-cert keys/examiner.pem -q
run "$LOG" verify img.aff4 --trust keys/ca.pem --head head3.json
expect_rc 0
expect_stdout "the log still extends the 3-event head"
run "$LOG" prove img.aff4 --from head3.json -o consistency.json
expect_rc 0
run "$LOG" check-proof consistency.json --trust keys/ca.pem
expect_rc 0
expect_stdout "extends the 3-event head"

# custody-verify includes the log, and --record adds a "verified" event.
run "$VERIFY" img.aff4 --trust keys/ca.pem --record --by-key keys/witness.key --by-cert keys/witness.pem
expect_rc 0
expect_stdout "custody log: 4 events"
expect_stdout "recorded as custody event 5"

# Bad input: clear errors, documented exit statuses.
run "$LOG" add img.aff4 --action lost --by-key keys/examiner.key --by-cert keys/examiner.pem
expect_rc 64
expect_stderr "unknown action \"lost\""
run "$LOG" add img.aff4 --action note --jurisdiction GER --by-key keys/examiner.key --by-cert keys/examiner.pem
expect_rc 64
expect_stderr "not an ISO 3166 code"
run "$LOG" add img.aff4 --action note
expect_rc 64
expect_stderr "--by-key is required"
run "$LOG" add nothere.aff4 --action note --by-key keys/examiner.key --by-cert keys/examiner.pem
expect_rc 66
expect_stderr "--create"
run "$LOG" verify img.aff4 --trust no-such-ca.pem
expect_rc 66
expect_stderr "no-such-ca.pem"
run "$LOG" add img.aff4 --action note --evidence-id X --by-key keys/examiner.key --by-cert keys/examiner.pem
expect_rc 64
expect_stderr "for standalone logs"
run "$LOG" prove img.aff4 --event 99
expect_rc 64
run "$LOG" show src.bin
expect_rc 65
expect_error_line

# A standalone log for an exhibit store.
run "$LOG" add store.custodylog --create --title 'Exhibit store 2' --action stored \
  --evidence-id E17 --image-sha256 "$sha256" --by-key keys/examiner.key --by-cert keys/examiner.pem
expect_rc 0
run "$LOG" verify store.custodylog --trust keys/ca.pem
expect_rc 0
run "$LOG" show store.custodylog
expect_stdout '"Exhibit store 2"'
