# Every tool answers --help (with examples and exit statuses) and --version, exit 0; no arguments
# is a usage error, exit 64.
source "$(dirname "$0")/../lib.sh"
for tool in "$ACQUIRE" "$VERIFY" "$INFO" "$EXPORT"; do
  name=$(basename "$tool")
  run "$tool" --help
  expect_rc 0
  expect_stdout "Examples:"
  expect_stdout "Exit status:"
  run "$tool" --version
  expect_rc 0
  expect_stdout "$name (custody) "
  run "$tool"
  expect_rc 64
  expect_stderr "$name: error:"
done
