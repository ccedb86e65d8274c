# Several processes append to the same container at once: every event lands (the file lock
# orders them), and the log verifies.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 300000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
pids=()
for i in $(seq 1 6); do
  key=examiner; [ $((i % 2)) -eq 0 ] && key=witness
  "$LOG" add img.aff4 --action note --notes "writer $i" --by-key keys/$key.key \
    --by-cert keys/$key.pem -q >out.$i 2>err.$i &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "an appender failed: $(cat err.*)"; done
run "$LOG" verify img.aff4 --trust keys/ca.pem
expect_rc 0
"$LOG" show --json img.aff4 >listing.json
[ "$(jq '.events | length' listing.json)" -eq 8 ] || fail "not all 6 events landed"
for i in $(seq 1 6); do
  jq -e --arg n "writer $i" '[.events[] | select(.notes == $n)] | length == 1' listing.json \
    >/dev/null || fail "the event of writer $i is missing or doubled"
done

# Several processes starting the same new standalone log at once: one creates it, all land.
pids=()
for i in $(seq 1 6); do
  "$LOG" add new.custodylog --create --action stored --notes "starter $i" \
    --by-key keys/examiner.key --by-cert keys/examiner.pem -q >/dev/null 2>err.new.$i &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a starter failed: $(cat err.new.*)"; done
run "$LOG" verify new.custodylog --trust keys/ca.pem
expect_rc 0
[ "$("$LOG" show --json new.custodylog | jq '.events | length')" -eq 6 ] ||
  fail "not all 6 starters' events landed"
