# A source that fails to read (EIO: /proc/self/mem at offset 0) stops with 74, names the offset,
# and leaves a record that says "failed", never "complete".
source "$(dirname "$0")/../lib.sh"
run "$ACQUIRE" --format raw /proc/self/mem -o bad
expect_rc 74
expect_error_line
expect_stderr "at offset 0"
expect_stderr "Input/output error"
[ "$(json_field .status bad.acquisition.json)" = "failed" ] || fail "record should say failed"
run "$VERIFY" bad.acquisition.json
expect_rc 1
expect_stdout "FAILED"
