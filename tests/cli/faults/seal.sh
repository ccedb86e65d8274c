# custody-seal meeting ENOSPC and EIO on writes and fsyncs, short writes and kill -9: the seal
# is added whole or not at all. The container keeps verifying with every seal it had (nothing
# that verified is lost), and the next seal works on what the failure left.
faults=$(cd "$(dirname "$0")" && pwd)
source "$faults/../lib.sh"
source "$faults/fault_lib.bash"
make_identities
make_source src.bin 300000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
seal=("$SEAL" try.aff4 --key keys/witness.key --cert keys/witness.pem -q)
seals_of() { "$INFO" --json "$1" | jq '[.members[].name | select(test("^custody/seal-[0-9]+\\.p7s$"))] | length'; }
before=$(seals_of img.aff4)

# check_after WHAT: the container verifies with the old seals, or the old ones and the new one.
check_after() {
  run "$VERIFY" try.aff4 --trust keys/ca.pem
  [ $RC -eq 0 ] || fail "$1: the container no longer verifies (exit $RC)"
  local now
  now=$(seals_of try.aff4)
  [ "$now" -eq "$before" ] || [ "$now" -eq $((before + 1)) ] || fail "$1: $now seals"
  # The next seal works on what an error left. After kill -9 the torn append stays as bytes after
  # the end: the seal refuses them (exit 65, saying what to do); a log event closes them.
  run "${seal[@]}"
  if [ $RC -eq 65 ] && [ "$2" -eq 137 ]; then
    expect_stderr "bytes after its end"
    expect_stderr "custody-log add"
    run "$CUSTODY_BIN/custody-log" add try.aff4 --action note --by-key keys/examiner.key \
      --by-cert keys/examiner.pem --notes "a seal was interrupted" -q
    expect_rc 0
    run "${seal[@]}"
  fi
  expect_rc 0
  run "$VERIFY" try.aff4 --trust keys/ca.pem
  expect_rc 0
}

cp img.aff4 try.aff4
hits=0
for syscall in "${WRITE_CALLS[@]}"; do
  count=$(count_calls "$syscall" "${seal[@]}")
  note "$syscall: $count calls"
  for n in $(spread "$count" 4); do
    for spec in "error=ENOSPC:when=$n" "error=EIO:when=$n" "signal=SIGKILL:when=$n"; do
      cp img.aff4 try.aff4
      inject "$syscall" "$spec" "${seal[@]}"
      if [[ $spec == signal* ]]; then
        [ $RC -eq 0 ] || [ $RC -eq 137 ] || fail "$syscall:$spec: exit $RC"
      else
        expect_clean_failure "$syscall:$spec"
      fi
      [ $RC -ne 0 ] && hits=$((hits + 1))
      check_after "$syscall:$spec" "$RC"
    done
  done
done
note "$hits injections hit"
[ $hits -ge 10 ] || fail "only $hits injections hit the seal"

size_kib=$(( $(stat -c %s img.aff4) / 1024 ))
for extra in 1 4; do
  cp img.aff4 try.aff4
  short_writes $((size_kib + extra)) "${seal[@]}"
  expect_rc 74
  expect_error_line
  check_after "file size limit +$extra KiB" 74
done
