# Ctrl-C stops custody-pack and custody-receive (they once ignored it: the signal was caught and
# the job ran to its end): exit 130, no package or received directory, no temporary files, no
# "packaged" event left in a container, no receipt. The last reads (the payload) are slowed down
# (strace delay injection) so that the signal arrives while the job copies or checks it.
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
LOG="$CUSTODY_BIN/custody-log"
source "$(dirname "$0")/../faults/fault_lib.bash"
make_identities
make_source a.bin 16777216
"$ACQUIRE" a.bin -o disk1 -q --compression none
sha256sum disk1.aff4 >before
sender=(--key keys/examiner.key --cert keys/examiner.pem)
receiver=(--key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem)

# slowly READS MARKER CMD...: runs CMD with its read(2) calls from number READS - 8 on (the last
# ones: the payload) delayed by 400 ms each, and sends it SIGINT once MARKER (a glob: its
# temporary output) exists; RC is its exit status.
slowly() {
  local reads=$1 marker=$2
  shift 2
  strace -f -qq -o /dev/null -e trace=read -e inject=read:delay_exit=400000:when=$((reads - 8))+ \
    "$@" >"$WORK/stdout" 2>"$WORK/stderr" &
  local tracer=$! tool=""
  for _ in $(seq 200); do
    compgen -G "$marker" >/dev/null && break
    sleep 0.05
  done
  tool=$(pgrep -P "$tracer" | head -1) || true
  [ -n "$tool" ] || fail "the tool ended before the signal (too fast to test): $*"
  kill -INT "$tool"
  set +e
  wait "$tracer"
  RC=$?
  set -e
}

cp disk1.aff4 count.aff4
reads=$(count_calls read "$PACK" count.aff4 -o count.tar "${sender[@]}")
slowly "$reads" "p2.tar.tmp-*" "$PACK" disk1.aff4 -o p2.tar "${sender[@]}"
expect_rc 130
expect_stderr "interrupted"
[ ! -e p2.tar ] || fail "an interrupted pack left a package"
! compgen -G "p2.tar.tmp-*" >/dev/null || fail "an interrupted pack left a temporary file"
sha256sum -c --quiet before || fail "an interrupted pack changed the container"
[ "$("$LOG" show --json disk1.aff4 | jq '[.events[] | select(.action == "packaged")] | length')" = 0 ] ||
  fail "an interrupted pack left a packaged event"

"$PACK" disk1.aff4 -o p.tar "${sender[@]}" -q
sha256sum p.tar >package
reads=$(count_calls read "$RECEIVE" p.tar -o count-received "${receiver[@]}")
slowly "$reads" "./.custody-receive-*" "$RECEIVE" p.tar -o received2 "${receiver[@]}"
expect_rc 130
expect_stderr "interrupted"
[ ! -e received2 ] || fail "an interrupted receive left the received directory"
[ ! -e received2.receipt.json ] || fail "an interrupted receive left a receipt"
! ls -d .custody-receive-* 2>/dev/null || fail "an interrupted receive left a temporary directory"
sha256sum -c --quiet package || fail "an interrupted receive changed the package"
