# A change to an event inside a container is detected by custody-log verify and custody-verify,
# and named: the event, and where the signed history stops matching.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 500000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
for action in transferred stored checked-out; do
  "$LOG" add img.aff4 --action $action --by-key keys/examiner.key --by-cert keys/examiner.pem -q \
    --notes "moved by hand"
done
run "$LOG" verify img.aff4 --trust keys/ca.pem
expect_rc 0

# One byte of event 3's notes ("moved by hand" -> "moved by band") in the file.
cp img.aff4 edited.aff4
offset=$(member_offset edited.aff4 '^custody/log/event-3\.json$')
at=$(unzip -p edited.aff4 custody/log/event-3.json | grep -bo 'by hand' | cut -d: -f1)
printf 'b' | dd of=edited.aff4 bs=1 seek=$((offset + at + 3)) conv=notrunc status=none
run "$LOG" verify edited.aff4 --trust keys/ca.pem
expect_rc 1
expect_stdout "event 3"
expect_stdout "the change starts there"
expect_stdout "FAILED VERIFICATION"
run "$VERIFY" edited.aff4 --trust keys/ca.pem
expect_rc 1
expect_stdout "custody log event 3"

# The file cut back to before the seal (a valid older state: the log alone cannot tell), but a
# head saved by someone earlier can.
"$LOG" head img.aff4 -o head.json
sealed_end=$(unzip -p img.aff4 custody/seal-1.json | jq .sealed_length)
head -c "$sealed_end" img.aff4 >cut.aff4
run "$LOG" verify cut.aff4 --trust keys/ca.pem
expect_rc 0
run "$LOG" verify cut.aff4 --trust keys/ca.pem --head head.json
expect_rc 1
expect_stdout "events were removed since it was saved"
