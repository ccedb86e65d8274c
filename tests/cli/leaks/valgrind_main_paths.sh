# Memcheck over the main paths of every tool with small inputs: acquire (AFF4, sealed, logged),
# verify, info, export, seal, log add/verify/prove/check-proof, pack, receive. Any invalid read or
# write, use of uninitialised memory or definite leak fails (--error-exitcode). Skipped without
# valgrind, and in the ASan build, whose every CLI test already runs under LeakSanitizer.
source "$(dirname "$0")/../lib.sh"
command -v valgrind >/dev/null || skip "valgrind missing"
if grep -q libasan <<<"$(ldd "$ACQUIRE" 2>/dev/null)"; then
  skip "an ASan build: LeakSanitizer checks these paths in every CLI test"
fi
LOG="$CUSTODY_BIN/custody-log"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
make_identities
make_source src.bin 150000

# vg EXPECTED_RC TOOL ARGS...: the tool under memcheck.
vg() {
  local expected=$1 started=$SECONDS
  shift
  run valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --track-origins=no "$@"
  if [ "$RC" -ne "$expected" ]; then
    fail "valgrind: $(basename "$1") exit $RC (expected $expected; 99 = a memcheck error)"
  fi
  echo "memcheck clean: $(basename "$1") $2 ($((SECONDS - started)) s)"
}

vg 0 "$ACQUIRE" src.bin -o img -q --chunk-size 32768 --seal-key keys/examiner.key \
  --seal-cert keys/examiner.pem
vg 0 "$VERIFY" img.aff4 --trust keys/ca.pem
vg 0 "$INFO" --json img.aff4
vg 0 "$EXPORT" img.aff4 -o out.raw -q
cmp -s out.raw src.bin || fail "the export differs from the source"
vg 0 "$SEAL" img.aff4 --key keys/witness.key --cert keys/witness.pem -q
vg 0 "$LOG" add img.aff4 --action stored --by-key keys/examiner.key --by-cert keys/examiner.pem -q
vg 0 "$LOG" verify img.aff4 --trust keys/ca.pem
vg 0 "$LOG" prove img.aff4 --event 1 -o proof.json
vg 0 "$LOG" check-proof proof.json --trust keys/ca.pem
vg 0 "$PACK" img.aff4 -o pkg.tar --key keys/examiner.key --cert keys/examiner.pem \
  --sending-authority BKA --receiving-authority Paris --requested-state DE --requesting-state FR \
  --legal-basis EIO --reference EIO-1 -q
vg 0 "$RECEIVE" pkg.tar -o got --key keys/witness.key --cert keys/witness.pem --trust keys/ca.pem -q
# Error paths free what they took, too.
flip_byte img.aff4 1000
vg 1 "$VERIFY" img.aff4 --trust keys/ca.pem
vg 66 "$VERIFY" missing.aff4
