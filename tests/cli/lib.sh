# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the CLI tests. Each test is a bash script that sources this file, runs the
# real binaries from $CUSTODY_BIN in a scratch directory, and checks exit status and output.
# Exit 0 = pass, 77 = skipped (ctest prints "Skipped", not "Passed"), anything else = fail.
set -euo pipefail

# The test data in the repository (tests/data/README.md). Never write to it: copy a file to the
# scratch directory first unless the use is purely read-only.
TESTDATA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../data" && pwd)

: "${CUSTODY_BIN:?CUSTODY_BIN must point at the directory holding the custody tools}"
ACQUIRE="$CUSTODY_BIN/custody-acquire"
VERIFY="$CUSTODY_BIN/custody-verify"
INFO="$CUSTODY_BIN/custody-info"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/custody-cli-XXXXXX")
cleanup_hooks=()
cleanup() {
  local hook
  for hook in "${cleanup_hooks[@]}"; do eval "$hook" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"

fail() {
  echo "FAIL: $*"
  echo "--- exit status: ${RC:-none}"
  echo "--- stdout:"; cat "$WORK/stdout" 2>/dev/null || true
  echo "--- stderr:"; cat "$WORK/stderr" 2>/dev/null || true
  exit 1
}

skip() {
  echo "SKIPPED: $*"
  exit 77
}

need_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root ($*)"
}

# run CMD...: runs a command, keeping its exit status in RC and its output in stdout/stderr.
run() {
  set +e
  "$@" >"$WORK/stdout" 2>"$WORK/stderr"
  RC=$?
  set -e
  # No tool may ever print an internal error or a sanitizer report.
  if grep -qE 'internal error|runtime error:|AddressSanitizer|LeakSanitizer' "$WORK/stderr"; then
    fail "internal error or sanitizer report from: $*"
  fi
}

expect_rc() {
  [ "$RC" -eq "$1" ] || fail "expected exit status $1"
}

expect_stdout() {
  grep -qF -- "$1" "$WORK/stdout" || fail "stdout lacks: $1"
}

expect_stderr() {
  grep -qF -- "$1" "$WORK/stderr" || fail "stderr lacks: $1"
}

expect_no_stdout() {
  [ ! -s "$WORK/stdout" ] || fail "expected no output on stdout"
}

# Diagnostics follow "custody-<tool>: error: ..." and say what to do next.
expect_error_line() {
  grep -qE "^custody-[a-z]+: error: .+" "$WORK/stderr" || fail "no 'custody-<tool>: error:' line"
}

# make_source FILE BYTES [SEED]: deterministic pseudo-random bytes with a zero run in the middle.
make_source() {
  local file=$1 bytes=$2 seed=${3:-custody}
  # openssl dies of SIGPIPE when head has enough: that is expected, so only the size is checked.
  openssl enc -aes-128-ctr -pass "pass:$seed" -nosalt -pbkdf2 </dev/zero 2>/dev/null |
    head -c "$bytes" >"$file" || true
  [ "$(stat -c %s "$file")" -eq "$bytes" ] || fail "could not make a $bytes-byte source"
  if [ "$bytes" -ge 3145728 ]; then
    dd if=/dev/zero of="$file" bs=1M seek=1 count=1 conv=notrunc status=none
  fi
}

json_field() {
  jq -r "$1" "$2"
}

digest() {
  "$1sum" "$2" | cut -d' ' -f1
}

EXPORT="$CUSTODY_BIN/custody-export"

# check_test_data: tests/data is as committed (tests must never modify it): every file matches
# tests/data/SHA256SUMS, which lists every file, and the AFF4 table of tests/data/README.md (sha256,
# bytes, path) agrees with both.
check_test_data() {
  local sha bytes path
  (cd "$TESTDATA" && sha256sum -c --quiet SHA256SUMS) >"$WORK/stdout" 2>"$WORK/stderr" ||
    fail "tests/data was modified (git status tests/data shows what; git checkout restores it)"
  (cd "$TESTDATA" && find . -type f ! -path ./SHA256SUMS ! -path ./README.md ! -path ./.gitattributes |
    sed 's|^\./||' | LC_ALL=C sort) >"$WORK/testdata.present"
  sed 's/^[0-9a-f]\{64\}  //' "$TESTDATA/SHA256SUMS" | LC_ALL=C sort >"$WORK/testdata.listed"
  diff "$WORK/testdata.listed" "$WORK/testdata.present" >"$WORK/stdout" ||
    fail "files under tests/data that SHA256SUMS does not list (>), or missing files (<)"
  sed -n 's/^| \([0-9a-f]\{64\}\) | \([0-9]*\) | \(aff4\/[^ ]*\) |.*/\1 \2 \3/p' \
    "$TESTDATA/README.md" >"$WORK/testdata.table"
  while read -r sha bytes path; do
    grep -qxF "$sha  $path" "$TESTDATA/SHA256SUMS" || fail "README.md and SHA256SUMS differ: $path"
    [ "$(stat -c %s "$TESTDATA/$path")" = "$bytes" ] || fail "$path is not $bytes bytes"
  done <"$WORK/testdata.table"
  cut -d' ' -f3 "$WORK/testdata.table" | LC_ALL=C sort >"$WORK/testdata.tabled"
  grep '^aff4/' "$WORK/testdata.present" | diff "$WORK/testdata.tabled" - >"$WORK/stdout" ||
    fail "the table of tests/data/README.md does not list every file under tests/data/aff4"
}

# member_offset CONTAINER REGEX: file offset of the data of the first member whose name matches.
member_offset() {
  "$INFO" --json "$1" | jq -r --arg re "$2" '[.members[] | select(.name | test($re))][0].offset'
}

# flip_byte FILE OFFSET: xor one byte with 0x5a, in place.
flip_byte() {
  local file=$1 offset=$2 byte
  byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ 0x5a)))" |
    dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

SEAL="$CUSTODY_BIN/custody-seal"

# make_identities: test-only keys and certificates in ./keys (samples/keys/make-test-identities.sh).
make_identities() {
  bash "$CUSTODY_SOURCE_DIR/samples/keys/make-test-identities.sh" keys ||
    fail "could not make the test identities"
}

# make_token: the test identities, and a SoftHSM2 token in ./token whose keys were generated on it
# (samples/keys/make-test-token.sh); exports SOFTHSM2_CONF, sets TOKEN (a URI prefix) and PIN
# (the PIN file). Skips when SoftHSM2 or OpenSC's pkcs11-tool is missing.
make_token() {
  command -v softhsm2-util >/dev/null || skip "softhsm2 missing"
  command -v pkcs11-tool >/dev/null || skip "opensc (pkcs11-tool) missing"
  [ -f keys/ca.pem ] || make_identities
  bash "$CUSTODY_SOURCE_DIR/samples/keys/make-test-token.sh" token keys ||
    fail "could not make the test token"
  export SOFTHSM2_CONF=$WORK/token/softhsm2.conf
  SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
  TOKEN='pkcs11:token=custody-test'
  PIN=token/pin.txt
}

# start_tsa MODE: a loopback test TSA (tests/support/test_tsa.py) in ./tsa; sets TSA_URL.
start_tsa() {
  command -v python3 >/dev/null || skip "python3 missing (the test TSA)"
  bash "$CUSTODY_SOURCE_DIR/samples/keys/make-test-tsa.sh" tsa || fail "could not make the test TSA"
  python3 "$CUSTODY_SOURCE_DIR/tests/support/test_tsa.py" tsa/tsa.cnf "${1:-normal}" >tsa.out 2>tsa.err &
  local pid=$!
  cleanup_hooks+=("kill $pid 2>/dev/null")
  for _ in $(seq 100); do grep -q '^port ' tsa.out 2>/dev/null && break; sleep 0.05; done
  TSA_URL="http://127.0.0.1:$(awk '/^port /{print $2}' tsa.out)/"
  grep -q '^port ' tsa.out || fail "the test TSA did not start"
}

# expect_json FORMAT: stdout is exactly one JSON document, whose "format" is FORMAT; with
# FORMAT custody-error, its exit_code is the tool's exit status.
expect_json() {
  jq -e -s 'length == 1' "$WORK/stdout" >/dev/null 2>&1 ||
    fail "stdout is not exactly one JSON document"
  jq -e --arg format "$1" '.format == $format' "$WORK/stdout" >/dev/null ||
    fail "the JSON document's format is not $1"
  if [ "$1" = custody-error ]; then
    jq -e --argjson rc "$RC" '.exit_code == $rc and (.error.message | length) > 0' \
      "$WORK/stdout" >/dev/null || fail "custody-error: exit_code and message"
  fi
}
