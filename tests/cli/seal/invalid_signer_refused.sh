# A signer whose certificate is expired, not yet valid, not allowed to sign (key usage), or (with
# --trust) not issued by the given CAs is refused BEFORE anything is appended, by every tool that
# signs: the container stays byte-identical, exit 64, and the message says why. (custody-seal,
# custody-log add and custody-pack once accepted such signers and exited 0, leaving a container
# that failed verification for ever.)
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
RECEIVE="$CUSTODY_BIN/custody-receive"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 400000
"$ACQUIRE" src.bin -o c -q
want=$(digest sha256 c.aff4)

# refused PATTERN CMD...: exit 64, PATTERN on stderr, the container unchanged.
refused() {
  local pattern=$1
  shift
  run "$@"
  expect_rc 64
  expect_error_line
  expect_stderr "$pattern"
  expect_stderr "nothing was signed or changed"
  [ "$(digest sha256 c.aff4)" = "$want" ] || fail "the container was changed by: $*"
}

for tool in seal log pack; do
  for who in expired not-yet-valid no-signing; do
    case $who in
      expired) why="its certificate expired on 2021-01-01" ;;
      not-yet-valid) why="its certificate is not valid before 2099-01-01" ;;
      no-signing) why="does not allow signing documents" ;;
    esac
    case $tool in
      seal) refused "$why" "$SEAL" c.aff4 --key "keys/$who.key" --cert "keys/$who.pem" ;;
      log) refused "$why" "$LOG" add c.aff4 --action transferred --by-key "keys/$who.key" \
        --by-cert "keys/$who.pem" ;;
      pack)
        refused "$why" "$PACK" c.aff4 -o "p-$who.tar" --key "keys/$who.key" --cert "keys/$who.pem" \
          --sending-authority A --receiving-authority B --requested-state DE \
          --requesting-state FR --legal-basis EIO --reference R-1
        [ ! -e "p-$who.tar" ] || fail "a package was written by a signer who cannot sign"
        ;;
    esac
  done
done

# --trust: a signer from another CA is refused; without --trust only the certificate itself is
# checked.
refused "does not chain to the given --trust CAs" \
  "$SEAL" c.aff4 --key keys/other-examiner.key --cert keys/other-examiner.pem --trust keys/ca.pem
refused "does not chain to the given --trust CAs" "$LOG" add c.aff4 --action transferred \
  --by-key keys/other-examiner.key --by-cert keys/other-examiner.pem --trust keys/ca.pem

# A --trust file that holds no certificate is a usage error (64) for the signing tools too, as for
# those that check signatures (it was 65, "corrupt input"); a missing one is 66.
echo "not a certificate" >junk.pem
for cmd in "$SEAL c.aff4 --key keys/examiner.key --cert keys/examiner.pem" \
  "$LOG add c.aff4 --action transferred --by-key keys/examiner.key --by-cert keys/examiner.pem"; do
  # shellcheck disable=SC2086
  run $cmd --trust junk.pem
  expect_rc 64
  expect_error_line
  # shellcheck disable=SC2086
  run $cmd --trust missing.pem
  expect_rc 66
  [ "$(digest sha256 c.aff4)" = "$want" ] || fail "the container was changed by: $cmd"
done

# Acquisition with a sealing key: refused before imaging, so no container is made.
run "$ACQUIRE" src.bin -o never --seal-key keys/expired.key --seal-cert keys/expired.pem
expect_rc 64
expect_stderr "its certificate expired on"
[ ! -e never.aff4 ] || fail "an acquisition ran with a signer who cannot sign"

# Export and verify --record sign their events: refused too, nothing appended.
refused "its certificate expired on" "$EXPORT" c.aff4 -o out.raw --by-key keys/expired.key \
  --by-cert keys/expired.pem
[ ! -e out.raw ] || fail "an export ran with a signer who cannot sign"
refused "its certificate expired on" "$VERIFY" c.aff4 --record --by-key keys/expired.key \
  --by-cert keys/expired.pem

# A receiver who cannot sign the receipt learns it before anything is unpacked.
"$PACK" c.aff4 -o p.tar -q --key keys/examiner.key --cert keys/examiner.pem \
  --sending-authority A --receiving-authority B --requested-state DE --requesting-state FR \
  --legal-basis EIO --reference R-1
want=$(digest sha256 c.aff4)
run "$RECEIVE" p.tar -o received --key keys/expired.key --cert keys/expired.pem --trust keys/ca.pem
expect_rc 64
expect_stderr "its certificate expired on"
[ ! -e received ] && [ ! -e received.receipt.json ] || fail "a receipt was made by a receiver who cannot sign"

# The good signers still work, with and without --trust.
run "$SEAL" c.aff4 --key keys/examiner.key --cert keys/examiner.pem --trust keys/ca.pem -q
expect_rc 0
run "$SEAL" c.aff4 --key keys/other-examiner.key --cert keys/other-examiner.pem -q
expect_rc 0
