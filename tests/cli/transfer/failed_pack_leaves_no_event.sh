# A custody-pack that fails leaves no "packaged" event for a package that was never written: the
# containers are byte-identical afterwards, whether it fails before the events (a container that
# is not one, or a directory, after a good one; a signer that may not sign) or after them (the disk
# of the output is full: the events are taken back).
source "$(dirname "$0")/../lib.sh"
PACK="$CUSTODY_BIN/custody-pack"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source a.bin 700000 one
make_source b.bin 700000 two
"$ACQUIRE" a.bin -o disk1 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
"$ACQUIRE" b.bin -o disk2 -q --seal-key keys/examiner.key --seal-cert keys/examiner.pem
sha256sum disk1.aff4 disk2.aff4 >before
sender=(--key keys/examiner.key --cert keys/examiner.pem)
unchanged() {
  sha256sum -c --quiet before || fail "a failed pack changed a container ($1)"
  [ "$("$LOG" show --json disk1.aff4 | jq '[.events[] | select(.action == "packaged")] | length')" = 0 ] ||
    fail "a packaged event was left ($1)"
}

head -c 5000 a.bin >broken.aff4
run "$PACK" disk1.aff4 broken.aff4 -o p.tar "${sender[@]}"
expect_rc 65
unchanged "a second container that is not one"
mkdir adir
run "$PACK" disk1.aff4 adir -o p.tar "${sender[@]}"
expect_rc 64
unchanged "a directory"
run "$PACK" disk1.aff4 -o p.tar --key keys/expired.key --cert keys/expired.pem
expect_rc 64
unchanged "an expired signer"
[ ! -e p.tar ] || fail "a package was written"

# The output's disk is full after the events were recorded: they are taken back.
need_root "a small tmpfs for a full disk"
mkdir full
mount -t tmpfs -o size=1m tmpfs full || skip "cannot mount a tmpfs"
cleanup_hooks+=("umount $WORK/full")
for output in full/p.tar full/p.zip full/bag; do
  run "$PACK" disk1.aff4 disk2.aff4 -o "$output" "${sender[@]}"
  expect_rc 74
  expect_stderr "their \"packaged\" events were taken back"
  unchanged "$output on a full disk"
  [ ! -e "$output" ] || fail "$output was left"
  run "$VERIFY" disk1.aff4 --trust keys/ca.pem
  expect_rc 0
done
run "$PACK" disk1.aff4 disk2.aff4 -o full/p.tar "${sender[@]}" --encrypt-to keys/witness.pem
expect_rc 74
unchanged "an encrypted package on a full disk"
