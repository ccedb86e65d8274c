# custody-verify --report: a report file that cannot be written is refused BEFORE the verification
# (which may take hours), not after it: into a missing directory (73), over the evidence (73), over
# an old report without --force (73). Nothing is verified, so no verdict is printed.
source "$(dirname "$0")/../lib.sh"
make_source src.bin 300000
"$ACQUIRE" src.bin -o img -q
before=$(digest sha256 img.aff4)
refused_early() {
  run "$VERIFY" img.aff4 --report "$1"
  expect_rc 73
  expect_error_line
  expect_stderr "$2"
  ! grep -q "INTACT" "$WORK/stdout" || fail "the verification ran before --report $1 was refused"
}
refused_early missing/report.html "the output directory does not exist"
refused_early img.aff4 "refusing to write"
[ "$(digest sha256 img.aff4)" = "$before" ] || fail "the evidence was written to"
echo old >old.html
refused_early old.html "refusing to overwrite"
[ "$(cat old.html)" = old ] || fail "an old report was replaced without --force"
run "$VERIFY" img.aff4 --report old.html --force
expect_rc 0
grep -q "<html" old.html || fail "--force did not write the report"
