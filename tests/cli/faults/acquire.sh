# custody-acquire (AFF4, sealed, with its "acquired" event) meeting ENOSPC and EIO on every kind
# of write and fsync, short writes (a file size limit) and kill -9, at points spread over the
# run: an error exits 74 with a clear message (never 70 or a crash); whatever is left behind is
# either a container that verifies and holds exactly the source, or one that custody-verify
# reports as failed, interrupted or damaged (exit 1 or 65), never one that verifies wrongly.
faults=$(cd "$(dirname "$0")" && pwd)
source "$faults/../lib.sh"
source "$faults/fault_lib.bash"
make_identities
make_source src.bin 600000
acquire=("$ACQUIRE" src.bin -o out -q --chunk-size 65536 --seal-key keys/examiner.key
  --seal-cert keys/examiner.pem)

# check_leftover WHAT: the state after a failed or killed acquisition.
check_leftover() {
  [ -e out.aff4 ] || return 0
  local verify_rc
  set +e
  "$VERIFY" out.aff4 --trust keys/ca.pem >verify.out 2>verify.err
  verify_rc=$?
  set -e
  grep -qE 'internal error|runtime error:|Sanitizer' verify.err && fail "$1: custody-verify crashed"
  case $verify_rc in
    0) "$EXPORT" out.aff4 -o - -q | cmp -s - src.bin ||
         fail "$1: the container verifies but does not hold the source" ;;
    1 | 65) grep -qE 'failed|interrupted|incomplete|damaged|corrupt|truncated|not|missing|does' \
              verify.out verify.err || fail "$1: custody-verify gives no reason" ;;
    *) cat verify.out verify.err; fail "$1: custody-verify exit $verify_rc" ;;
  esac
}

hits=0
for syscall in "${WRITE_CALLS[@]}"; do
  count=$(count_calls "$syscall" "${acquire[@]}" --force)
  note "$syscall: $count calls"
  rm -f out.aff4
  for n in $(spread "$count" 5); do
    for spec in "error=ENOSPC:when=$n" "error=EIO:when=$n" "signal=SIGKILL:when=$n"; do
      rm -f out.aff4
      inject "$syscall" "$spec" "${acquire[@]}"
      if [[ $spec == signal* ]]; then
        [ $RC -eq 0 ] || [ $RC -eq 137 ] || fail "$syscall:$spec: exit $RC"
      else
        expect_clean_failure "$syscall:$spec"
      fi
      [ $RC -ne 0 ] && hits=$((hits + 1))
      check_leftover "$syscall:$spec"
    done
  done
done
note "$hits injections hit"
[ $hits -ge 20 ] || fail "only $hits injections hit the acquisition"

# Short writes: the write crossing the limit is short, the next one fails with EFBIG.
for limit in 4 64 300; do
  rm -f out.aff4
  short_writes "$limit" "${acquire[@]}"
  expect_rc 74
  expect_error_line
  check_leftover "file size limit $limit KiB"
done
