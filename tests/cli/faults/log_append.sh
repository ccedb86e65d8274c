# custody-log add meeting ENOSPC and EIO on writes and fsyncs and short writes (kill -9 at every
# write and fsync is tests/cli/log/interrupted_append.sh): exit 74 with a clear message, and the
# log verifies with the old events or the old ones plus the new one; the next append works.
faults=$(cd "$(dirname "$0")" && pwd)
source "$faults/../lib.sh"
source "$faults/fault_lib.bash"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 200000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
before=$("$LOG" show --json img.aff4 | jq '.events | length')
add=("$LOG" add try.aff4 --action stored --by-key keys/examiner.key --by-cert keys/examiner.pem -q)

check_after() {
  run "$LOG" verify try.aff4 --trust keys/ca.pem
  [ $RC -eq 0 ] || fail "$1: the log no longer verifies (exit $RC)"
  local events
  events=$(jq '.events | length' <("$LOG" show --json try.aff4))
  if [ "$2" -eq 0 ]; then
    [ "$events" -eq $((before + 1)) ] || fail "$1: completed, but $events events"
  else
    [ "$events" -eq "$before" ] || [ "$events" -eq $((before + 1)) ] || fail "$1: $events events"
  fi
  run "$LOG" add try.aff4 --action note --by-key keys/examiner.key --by-cert keys/examiner.pem -q
  expect_rc 0
  run "$VERIFY" try.aff4 --trust keys/ca.pem
  expect_rc 0
}

cp img.aff4 try.aff4
hits=0
for syscall in "${WRITE_CALLS[@]}"; do
  count=$(count_calls "$syscall" "${add[@]}")
  note "$syscall: $count calls"
  for n in $(spread "$count" 5); do
    for error in ENOSPC EIO; do
      cp img.aff4 try.aff4
      inject "$syscall" "error=$error:when=$n" "${add[@]}"
      expect_clean_failure "$syscall:$error:$n"
      [ $RC -ne 0 ] && hits=$((hits + 1))
      check_after "$syscall:$error:$n" "$RC"
    done
  done
done
note "$hits injections hit"
[ $hits -ge 8 ] || fail "only $hits injections hit the append"

size_kib=$(( $(stat -c %s img.aff4) / 1024 ))
for extra in 1 3; do
  cp img.aff4 try.aff4
  short_writes $((size_kib + extra)) "${add[@]}"
  expect_rc 74
  expect_error_line
  check_after "file size limit +$extra KiB" 74
done
