# kill -9 at every write and fsync of an append (strace fault injection): afterwards the log
# verifies, with either the old events or the old ones plus the new one, never a torn entry.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
command -v strace >/dev/null || skip "strace missing"
strace -f -o /dev/null true 2>/dev/null || skip "ptrace is not allowed here"
make_identities
make_source src.bin 300000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
before=$("$LOG" show --json img.aff4 | jq '.events | length')
killed=0
for syscall in pwrite64 fsync; do
  for n in $(seq 1 16); do
    cp img.aff4 try.aff4
    set +e
    strace -f -o /dev/null -e trace=$syscall -e inject=$syscall:signal=SIGKILL:when=$n \
      "$LOG" add try.aff4 --action stored --by-key keys/examiner.key --by-cert keys/examiner.pem -q \
      >/dev/null 2>&1
    rc=$?
    set -e
    [ $rc -ne 0 ] && killed=$((killed + 1))
    run "$LOG" verify try.aff4 --trust keys/ca.pem
    expect_rc 0
    events=$(jq '.events | length' <("$LOG" show --json try.aff4))
    if [ $rc -eq 0 ]; then
      [ "$events" -eq $((before + 1)) ] || fail "$syscall #$n: completed, but $events events"
    else
      [ "$events" -eq "$before" ] || [ "$events" -eq $((before + 1)) ] ||
        fail "$syscall #$n: killed, and $events events"
    fi
    # A later append works on what the crash left.
    run "$LOG" add try.aff4 --action note --by-key keys/examiner.key --by-cert keys/examiner.pem
    expect_rc 0
    run "$LOG" verify try.aff4 --trust keys/ca.pem
    expect_rc 0
    run "$VERIFY" try.aff4 --trust keys/ca.pem
    expect_rc 0
  done
done
[ $killed -ge 8 ] || fail "only $killed of the runs were killed: the injection did not hit the writer"
