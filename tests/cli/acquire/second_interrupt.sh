# A second Ctrl-C (SIGINT or SIGTERM) soon after the first must not cut the closing of the
# container: the result is the same as with one signal, a readable container whose record says
# "interrupted", exit 130. (A second signal 1-50 ms after the first once killed the process at
# once and left a container without a central directory.) The closing is slowed down (every
# fsync(2) delayed 300 ms by strace) so that the second signal always arrives before the container
# is closed: on a fast machine a closing of a few milliseconds once ended before it was sent.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../faults/fault_lib.bash"
make_source chunk.bin 2097152

for delay in 0.001 0.01 0.05; do
  for second in INT TERM; do
    name="c-${delay#0.}-$second"
    mkfifo "$name.feed"
    # One chunk, then a pause: the acquisition waits for more while the signals arrive.
    ( cat chunk.bin; sleep 1; cat chunk.bin; sleep 30 ) >"$name.feed" &
    writer=$!
    strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=300000 \
      "$ACQUIRE" "$name.feed" -o "$name" >stdout 2>stderr &
    tracer=$!
    for _ in $(seq 200); do
      [ -e "$name.aff4" ] && [ "$(stat -c %s "$name.aff4")" -gt 1000000 ] && break
      sleep 0.05
    done
    pid=$(pgrep -P "$tracer" | head -1) || true
    [ -n "$pid" ] || fail "custody-acquire ended before the first signal"
    kill -INT "$pid"
    sleep "$delay"
    kill "-$second" "$pid" || fail "custody-acquire ended before the second signal ($delay s)"
    set +e
    wait "$tracer"
    acquire_rc=$?
    set -e
    kill "$writer" 2>/dev/null || true
    cp stderr acquire.stderr
    run "$INFO" --json "$name.aff4"
    expect_rc 0
    jq -e '.record.status == "interrupted"' stdout >/dev/null ||
      fail "after a second $second: the container must be readable and say interrupted"
    RC=$acquire_rc
    expect_rc 130
    grep -q "still stopping" acquire.stderr || fail "the second signal is not acknowledged"
    run "$VERIFY" "$name.aff4"
    expect_rc 1
    expect_stdout "interrupted"
  done
done
