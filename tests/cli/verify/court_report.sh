# The plain-language verdict comes first, and --report writes a self-contained HTML court report
# that a real browser (headless Chromium) renders: the rendered text holds the verdict, the hashes,
# the custody timeline and the stock-tool appendix; a tampered container gives NOT INTACT.
source "$(dirname "$0")/../lib.sh"
LOG="$CUSTODY_BIN/custody-log"
make_identities
start_tsa
make_source src.bin 800000
"$ACQUIRE" src.bin -o img -q --examiner 'E. Mustermann' --case 2026-17 --evidence E1
"$SEAL" img.aff4 --key keys/examiner.key --cert keys/examiner.pem --tsa "$TSA_URL" -q
"$LOG" add img.aff4 --action transferred --by-key keys/witness.key --by-cert keys/witness.pem \
  --role courier --jurisdiction DE --purpose 'to the prosecutor' -q
sha256=$(digest sha256 src.bin)

run "$VERIFY" img.aff4 --trust keys/ca.pem --tsa-trust tsa/tsa-ca.pem --report report.html
expect_rc 0
head -1 stdout >first.line
grep -q '^INTACT: the image is unchanged since it was sealed by Test Examiner' first.line ||
  fail "the first line is not the plain-language verdict"
expect_stdout "time confirmed by Custody Test TSA"
expect_stdout "3 custody events (1 unsigned)"
expect_stdout "court report written to report.html"
run "$VERIFY" --json img.aff4 --trust keys/ca.pem
jq -e '.summary | startswith("INTACT")' stdout >/dev/null || fail "--json has no summary"
jq -e '.seals[0].signer.issuer | contains("Custody Test CA")' stdout >/dev/null ||
  fail "--json lacks the seal's signer"

# Self-contained: no scripts, links, images or fonts from elsewhere.
! grep -Eiq '(src|href)=|@import|url\(|<script' report.html || fail "the report loads external resources"
grep -q "$sha256" report.html || fail "the report lacks the image's SHA-256"
run "$VERIFY" img.aff4 --report report.html
expect_rc 73

command -v chromium >/dev/null || skip "chromium missing (Debian package chromium)"
command -v pdftotext >/dev/null || skip "pdftotext missing (poppler-utils)"
render() { # HTML PDF: print to PDF in headless Chromium, then the text of the PDF
  timeout 120 chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
    --user-data-dir="$WORK/chromium" --print-to-pdf="$2" "file://$WORK/$1" >/dev/null 2>&1 ||
    fail "chromium could not render $1"
  pdftotext -layout "$2" - | tr -s ' \n' ' '
}
text=$(render report.html report.pdf)
for want in "INTACT: the image is unchanged since it was sealed by Test Examiner" "$sha256" \
  "Chain of custody" "transferred" "courier" "Custody Test TSA" "Appendix" "openssl cms -verify"; do
  grep -qF -- "$want" <<<"$text" || fail "the rendered report lacks: $want"
done

cp img.aff4 tampered.aff4
flip_byte tampered.aff4 $(($(member_offset tampered.aff4 '/00000000$') + 1000))
run "$VERIFY" tampered.aff4 --trust keys/ca.pem --report tampered.html
expect_rc 1
head -1 stdout >first.line
grep -q '^NOT INTACT: ' first.line || fail "a tampered container's first line is not NOT INTACT"
text=$(render tampered.html tampered.pdf)
grep -qF "NOT INTACT" <<<"$text" || fail "the rendered report of a tampered container lacks NOT INTACT"
grep -qF "FAIL" <<<"$text" || fail "the rendered report lists no failed check"
