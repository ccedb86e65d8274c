# An output whose directory does not exist is one exit status in every tool: 73 ("cannot create"),
# with a message that names the directory and says to create it; with --json, a custody-error
# document whose code is cannot_create. (Tools answered 66, 73 or 74 for the same mistake.)
# custody-pack and custody-receive: tests/cli/transfer.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
make_source src.bin 200000
mkdir tree && cp src.bin tree/a.bin
"$ACQUIRE" src.bin -o c -q
"$ACQUIRE" --logical tree -o l -q

missing() {
  run "$@" --json
  expect_rc 73
  expect_json custody-error
  jq -e '.error.code == "cannot_create"' stdout >/dev/null || fail "code cannot_create: $*"
  expect_stderr "the output directory does not exist"
  expect_stderr "mkdir -p"
}

missing "$ACQUIRE" src.bin -o nodir/x
missing "$ACQUIRE" src.bin -o nodir/x --format raw
missing "$ACQUIRE" src.bin -o nodir/x --format raw --segment-size 1M
missing "$ACQUIRE" --logical tree -o nodir/x
missing "$EXPORT" c.aff4 -o nodir/x.raw --no-record
missing "$EXPORT" c.aff4 -o nodir/x --split 1M --no-record
missing "$EXPORT" c.aff4 -o nodir/x --format e01 --no-record
missing "$EXPORT" c.aff4 --case-uco nodir/x.jsonld
missing "$EXPORT" l.aff4 --files -o nodir/x --no-record
missing "$VERIFY" c.aff4 --report nodir/r.html
missing "$SEAL" c.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsq-out nodir/x.tsq
missing "$LOG" prove c.aff4 --event 1 -o nodir/p.json
missing "$LOG" head c.aff4 -o nodir/h.json
missing "$LOG" add nodir/store.custodylog --create --action stored --by-key keys/examiner.key \
  --by-cert keys/examiner.pem --evidence-id E1
