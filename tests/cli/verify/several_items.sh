# Several evidence items in one command: each item's verdict is printed, the exit status is the
# worst of them, and --json gives one custody-verification-set document holding every report.
source "$(dirname "$0")/../lib.sh"
make_source a.bin 1000000
make_source b.bin 1000000 other
"$ACQUIRE" a.bin -o a -q
"$ACQUIRE" b.bin -o b -q
"$ACQUIRE" --format raw a.bin -o raw -q

run "$VERIFY" a.aff4 b.aff4
expect_rc 0
expect_stdout "VERIFIED: a.aff4 matches its acquisition record"
expect_stdout "VERIFIED: b.aff4 matches its acquisition record"
expect_stdout "2 evidence items: 2 INTACT, 0 NOT INTACT"

# One of them tampered with: both verdicts, exit 1, in the order given.
cp b.aff4 tampered.aff4
flip_byte tampered.aff4 40000
run "$VERIFY" a.aff4 tampered.aff4 raw.acquisition.json
expect_rc 1
expect_stdout "VERIFIED: a.aff4 matches its acquisition record"
expect_stdout "FAILED: tampered.aff4 does not match its acquisition record"
expect_stdout "VERIFIED: raw.raw matches its acquisition record"
expect_stdout "3 evidence items: 2 INTACT, 1 NOT INTACT"
[ "$(grep -n '^VERIFIED: a.aff4' stdout | cut -d: -f1)" -lt \
  "$(grep -n '^FAILED: tampered.aff4' stdout | cut -d: -f1)" ] || fail "items out of order"

# -q: only what failed.
run "$VERIFY" -q a.aff4 tampered.aff4
expect_rc 1
expect_stdout "FAILED: tampered.aff4"
if grep -q "a.aff4 matches" stdout; then fail "-q printed an intact item"; fi

# --json: one document for the set, each item's own report inside it.
run "$VERIFY" --json a.aff4 tampered.aff4
expect_rc 1
expect_json custody-verification-set
jq -e '.version == 1 and .verified == false and (.items | length) == 2' stdout >/dev/null ||
  fail "set document: version, verified or items"
jq -e '.items[0] | .evidence == "AFF4 container" and .paths == ["a.aff4"] and
       .verdict == "verified" and .report.format == "custody-verification" and
       .report.verdict == "verified"' stdout >/dev/null || fail "first item"
jq -e '.items[1] | .verdict == "failed" and .report.verdict == "failed" and
       ([.report.checks[] | select(.result == "fail")] | length) > 0' stdout >/dev/null ||
  fail "second item"

# One item alone keeps the document it always had.
run "$VERIFY" --json a.aff4
expect_rc 0
expect_json custody-verification

# An item that cannot be checked does not stop the others; failed ones decide the status.
cp raw.acquisition.json gone.acquisition.json
jq '.image.segments[0].file = "gone.raw"' raw.acquisition.json >gone.acquisition.json
run "$VERIFY" a.aff4 gone.acquisition.json
expect_rc 66
expect_stdout "VERIFIED: a.aff4"
expect_stdout "NOT CHECKED: raw record gone.acquisition.json could not be checked"
expect_stderr "image segment missing"
run "$VERIFY" --json tampered.aff4 gone.acquisition.json
expect_rc 1
expect_json custody-verification-set
jq -e '.items[1].verdict == "not checked" and .items[1].error.code == "not_found"' stdout \
  >/dev/null || fail "an item not checked in the set document"

# --record and --report concern one item.
run "$VERIFY" a.aff4 b.aff4 --record
expect_rc 64
expect_stderr "several evidence items"
run "$VERIFY" a.aff4 b.aff4 --report r.html
expect_rc 64
[ ! -e r.html ] || fail "a report was written"
