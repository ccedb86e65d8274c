source "$(dirname "$0")/../lib.sh"
mkdir adir
run "$ACQUIRE" --format raw adir -o out
expect_rc 64
expect_error_line
expect_stderr "cannot be imaged"
