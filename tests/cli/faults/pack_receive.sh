# custody-pack and custody-receive meeting ENOSPC and EIO on writes and fsyncs, short writes and
# kill -9: an error exits 74 with a clear message (never 70 or a crash); a failed pack leaves no
# package (or, when only the final fsync of the directory failed, a complete one), and containers
# that still verify (with or without their "packaged" event) and can be packed again; a failed receive leaves the package untouched and nothing released under the
# output name, and receiving again works.
faults=$(cd "$(dirname "$0")" && pwd)
source "$faults/../lib.sh"
source "$faults/fault_lib.bash"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 200000
"$ACQUIRE" src.bin -o img -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
facts=(--sending-authority BKA --receiving-authority Paris --requested-state DE
  --requesting-state FR --legal-basis EIO --reference EIO-1)
pack=("$PACK" disk.aff4 -o pkg.tar --key keys/examiner.key --cert keys/examiner.pem "${facts[@]}" -q)
receive=("$RECEIVE" pkg.tar -o got --key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem -q)

check_container() {
  run "$VERIFY" disk.aff4 --trust keys/ca.pem
  [ $RC -eq 0 ] || fail "$1: the container no longer verifies (exit $RC)"
  run "$LOG" verify disk.aff4 --trust keys/ca.pem
  [ $RC -eq 0 ] || fail "$1: the container's log no longer verifies (exit $RC)"
}

after_pack() {
  local what=$1 rc=$2
  check_container "$what"
  if [ "$rc" -ne 0 ]; then
    if [ -e pkg.tar ]; then
      # Only when fsync of the directory failed after the rename: the package is complete.
      run "${receive[@]}"
      [ $RC -eq 0 ] || fail "$what: a failed pack left a pkg.tar that is not a good package"
      rm -rf got got.receipt.json got.receipt.json.p7s pkg.tar
    fi
    rm -rf ./pkg.tar.tmp-* 2>/dev/null || true
    run "${pack[@]}"
    expect_rc 0
    check_container "$what, packed again"
  fi
}

hits=0
for syscall in "${WRITE_CALLS[@]}"; do
  cp img.aff4 disk.aff4
  rm -f pkg.tar
  count=$(count_calls "$syscall" "${pack[@]}")
  note "pack $syscall: $count calls"
  for n in $(spread "$count" 4); do
    for spec in "error=ENOSPC:when=$n" "error=EIO:when=$n" "signal=SIGKILL:when=$n"; do
      cp img.aff4 disk.aff4
      rm -f pkg.tar
      inject "$syscall" "$spec" "${pack[@]}"
      rc=$RC
      if [[ $spec == signal* ]]; then
        [ $rc -eq 0 ] || [ $rc -eq 137 ] || fail "pack $syscall:$spec: exit $rc"
      else
        expect_clean_failure "pack $syscall:$spec"
      fi
      [ $rc -ne 0 ] && hits=$((hits + 1))
      after_pack "pack $syscall:$spec" "$rc"
    done
  done
done
note "$hits injections hit custody-pack"
[ $hits -ge 8 ] || fail "only $hits injections hit custody-pack"

cp img.aff4 disk.aff4
rm -f pkg.tar
run "${pack[@]}"
expect_rc 0
package_sha=$(digest sha256 pkg.tar)

after_receive() {
  local what=$1 rc=$2
  [ "$(digest sha256 pkg.tar)" = "$package_sha" ] || fail "$what: the package changed"
  if [ "$rc" -ne 0 ]; then
    [ ! -e got ] || fail "$what: a failed receive released got/"
    [ ! -e got.receipt.json ] || fail "$what: a failed receive wrote a receipt"
  fi
  rm -rf got got.receipt.json got.receipt.json.p7s ./.got* 2>/dev/null || true
  run "${receive[@]}"
  expect_rc 0
  run "$VERIFY" got/data/disk.aff4 --trust keys/ca.pem
  expect_rc 0
  rm -rf got got.receipt.json got.receipt.json.p7s
}

hits=0
for syscall in "${WRITE_CALLS[@]}"; do
  rm -rf got got.receipt.json got.receipt.json.p7s ./.got* 2>/dev/null || true
  count=$(count_calls "$syscall" "${receive[@]}")
  note "receive $syscall: $count calls"
  rm -rf got got.receipt.json got.receipt.json.p7s ./.got* 2>/dev/null || true
  for n in $(spread "$count" 4); do
    for spec in "error=ENOSPC:when=$n" "error=EIO:when=$n" "signal=SIGKILL:when=$n"; do
      inject "$syscall" "$spec" "${receive[@]}"
      rc=$RC
      if [[ $spec == signal* ]]; then
        [ $rc -eq 0 ] || [ $rc -eq 137 ] || fail "receive $syscall:$spec: exit $rc"
      else
        expect_clean_failure "receive $syscall:$spec"
      fi
      [ $rc -ne 0 ] && hits=$((hits + 1))
      after_receive "receive $syscall:$spec" "$rc"
    done
  done
done
note "$hits injections hit custody-receive"
[ $hits -ge 8 ] || fail "only $hits injections hit custody-receive"

# Short writes: the container's append fails (half its size), or the package does (a little more
# than the container); then the receiver's extraction.
size_kib=$(($(stat -c %s img.aff4) / 1024))
for limit in $((size_kib / 2)) $((size_kib + 8)); do
  cp img.aff4 disk.aff4
  rm -f pkg.tar
  short_writes "$limit" "${pack[@]}"
  expect_rc 74
  expect_error_line
  after_pack "pack with a file size limit of $limit KiB" 74
done
package_sha=$(digest sha256 pkg.tar)
for limit in $((size_kib / 2)) $((size_kib + 2)); do
  short_writes "$limit" "${receive[@]}"
  expect_rc 74
  expect_error_line
  after_receive "receive with a file size limit of $limit KiB" 74
done
