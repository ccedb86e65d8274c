source "$(dirname "$0")/../lib.sh"
run "$ACQUIRE" --format raw /nonexistent/disk.img -o out
expect_rc 66
expect_error_line
expect_stderr "/nonexistent/disk.img"
expect_stderr "check the path"
[ ! -e out.raw ] && [ ! -e out.acquisition.json ] || fail "output created for a missing source"
