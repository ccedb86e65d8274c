# --verify-image reads the image back, --verify-source reads the source again; both are reported
# and kept (raw: in the record; AFF4: in the appended member custody/post-verification.json).
source "$(dirname "$0")/../lib.sh"
make_source src.bin 3000000
run "$ACQUIRE" src.bin -o img --verify-image --verify-source
expect_rc 0
expect_stdout "image verification: OK"
expect_stdout "source verification: OK"
unzip -p img.aff4 custody/post-verification.json |
  jq -e '.verification.image.matches and .verification.source.matches' >/dev/null ||
  fail "AFF4: the results must be appended to the container"
run "$VERIFY" img.aff4
expect_rc 0
run "$ACQUIRE" --format raw src.bin -o raw --verify-image --verify-source -q
expect_rc 0
jq -e '.verification.image.matches and .verification.source.matches' raw.acquisition.json \
  >/dev/null || fail "raw: the results must be in the record"
run "$VERIFY" raw.acquisition.json
expect_rc 0
set +e
cat src.bin | "$ACQUIRE" - -o piped --verify-source >stdout 2>stderr
RC=$?
set -e
expect_rc 64
expect_stderr "cannot re-read standard input"

# --json prints exactly the record stored in the container, and nothing else on stdout.
run "$ACQUIRE" src.bin -o j --verify-image --json
expect_rc 0
unzip -p j.aff4 custody/acquisition.json | cmp -s - stdout ||
  fail "--json must print the stored record and nothing else"
