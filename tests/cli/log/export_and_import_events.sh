# custody-export records an "exported" event in a writable container, and leaves a read-only one
# untouched (with a warning, also as root); custody-acquire --from-image records "imported" with
# what the original claimed.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 400000
"$ACQUIRE" src.bin -o img -q
run "$EXPORT" img.aff4 -o out.raw --by-key keys/examiner.key --by-cert keys/examiner.pem \
  --purpose 'for the defence expert'
expect_rc 0
"$LOG" show --json img.aff4 >log.json
[ "$(jq -r '.events[-1].action' log.json)" = exported ] || fail "no exported event"
[ "$(jq -r '.events[-1].purpose' log.json)" = 'for the defence expert' ] || fail "purpose lost"
[ "$(jq -r '.events[-1].details.export_sha256' log.json)" = "$(digest sha256 src.bin)" ] ||
  fail "the event does not carry the export's hash"
[ "$(jq -r '.events[-1].signed' log.json)" = true ] || fail "the event is not signed"

cp img.aff4 ro.aff4
chmod 0444 ro.aff4
before=$(sha256sum <ro.aff4)
run "$EXPORT" ro.aff4 -o out2.raw
expect_rc 0
expect_stderr "is read-only: this export is NOT recorded"
[ "$(sha256sum <ro.aff4)" = "$before" ] || fail "a read-only container was written to"
run "$EXPORT" img.aff4 -o out3.raw --no-record
[ "$("$LOG" show --json img.aff4 | jq '.events | length')" -eq 2 ] || fail "--no-record recorded"

"$ACQUIRE" src.bin -o legacy --format raw -q
run "$ACQUIRE" --from-image legacy.raw -o imported
expect_rc 0
"$LOG" show --json imported.aff4 >imported.json
[ "$(jq -r '.events[0].action' imported.json)" = imported ] || fail "no imported event"
[ "$(jq -r '.events[0].details.imported_format' imported.json)" = raw ] ||
  fail "the imported event lacks the original's format"
